import { createHash } from 'node:crypto';
import { tempPathFor } from '@semembed/formats';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConverterError } from './errors.js';

/**
 * The `.onnx` + `.json` pair is written so that a reader never uses a mismatched pair: both files go to
 * temporaries first (flushed), then are renamed; the sidecar records the ONNX file's sha256
 * (`source.onnx_sha256`), so a kill between the two renames leaves a pair that the loaders refuse with a clear
 * message instead of one that silently mislabels outputs. Temporaries left by killed runs are removed by the
 * next run for the same output.
 */

const TMP_RE = /^\.(.+)\.(\d+)\.[0-9a-f]+\.tmp$/;

export function sha256Hex(chunks: Uint8Array | Uint8Array[]): string {
  const h = createHash('sha256');
  for (const c of Array.isArray(chunks) ? chunks : [chunks]) h.update(c);
  return h.digest('hex');
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `.NAME.<pid>.<hex>.tmp` files beside `paths` whose writing process is gone; returns what went. */
export function removeStaleTemporaries(paths: string[]): string[] {
  const removed: string[] = [];
  const byDir = new Map<string, Set<string>>();
  for (const p of paths) {
    const set = byDir.get(dirname(p)) ?? new Set<string>();
    set.add(basename(p));
    byDir.set(dirname(p), set);
  }
  for (const [dir, names] of byDir) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue; // the folder does not exist yet: nothing left over
    }
    for (const e of entries) {
      const m = TMP_RE.exec(e);
      if (!m || !names.has(m[1]) || alive(Number(m[2]))) continue;
      rmSync(join(dir, e), { force: true });
      removed.push(join(dir, e));
    }
  }
  return removed;
}

function writeFlushed(path: string, chunks: Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const c of chunks) for (let off = 0; off < c.length;) off += writeSync(fd, c, off, c.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'its folder does not exist',
    ENOTDIR: 'a path component is not a folder',
    EISDIR: 'it is a folder',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
  };
  return code && why[code] ? new ConverterError(`cannot write ${path}: ${why[code]}`) : (err as Error);
}

/**
 * Writes the ONNX bytes and the sidecar (with `source.onnx_sha256` set to the bytes' hash) as a pair.
 * Returns the hash. On failure neither temporary stays behind and existing files are untouched.
 */
export function writeModelPair(
  onnxPath: string,
  sidecarPath: string,
  onnx: Uint8Array[],
  sidecar: { source: Record<string, unknown> },
): string {
  removeStaleTemporaries([onnxPath, sidecarPath]);
  const sha = sha256Hex(onnx);
  sidecar.source.onnx_sha256 = sha;
  const json = Buffer.from(JSON.stringify(sidecar, null, 2) + '\n', 'utf8');
  const tOnnx = tempPathFor(onnxPath);
  const tJson = tempPathFor(sidecarPath);
  let target = onnxPath;
  try {
    writeFlushed(tOnnx, onnx);
    target = sidecarPath;
    writeFlushed(tJson, [json]);
    target = onnxPath;
    renameSync(tOnnx, onnxPath);
    target = sidecarPath;
    renameSync(tJson, sidecarPath);
  } catch (err) {
    rmSync(tOnnx, { force: true });
    rmSync(tJson, { force: true });
    throw writeError(target, err);
  }
  return sha;
}

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The one way the toolchain writes an output file: whole or not at all. Data goes to a temporary file in the
 * same directory (same filesystem, so the rename is atomic), is flushed, and only then replaces the target.
 * A crash or an error never leaves a half-written output, and the temporary is removed on failure.
 */

/** `.NAME.<pid>.<random>.tmp` beside `path` (the pid lets a later run tell a dead writer's leftovers). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** The temporary for `path`, its folder created if needed. */
function begin(path: string): string {
  mkdirSync(dirname(path), { recursive: true });
  return tempPathFor(path);
}

/** Flushes the finished temporary and renames it onto `path`; removes it instead when `failed`. */
function finish(tmp: string, path: string, failed: boolean): void {
  if (failed) {
    rmSync(tmp, { force: true });
    return;
  }
  try {
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Runs `write(tmp)` to produce the file at a temporary path (for writers that want a path, e.g. HDF5 or FAISS),
 * then flushes it and renames it onto `path`. The folder is created if needed.
 */
export async function writeViaTemp<T>(path: string, write: (tmp: string) => T | Promise<T>): Promise<T> {
  const tmp = begin(path);
  let failed = true;
  try {
    const result = await write(tmp);
    failed = false;
    return result;
  } finally {
    finish(tmp, path, failed);
  }
}

/** writeViaTemp for synchronous writers. */
export function writeViaTempSync<T>(path: string, write: (tmp: string) => T): T {
  const tmp = begin(path);
  let failed = true;
  try {
    const result = write(tmp);
    failed = false;
    return result;
  } finally {
    finish(tmp, path, failed);
  }
}

/** Writes a whole file (a string, bytes, or chunks of bytes written in order) or nothing. */
export function writeFileAtomic(path: string, data: string | Uint8Array | Uint8Array[]): void {
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : Array.isArray(data) ? data : [data];
  writeViaTempSync(path, (tmp) => {
    const fd = openSync(tmp, 'w');
    try {
      for (const c of chunks) for (let off = 0; off < c.length;) off += writeSync(fd, c, off, c.length - off);
    } finally {
      closeSync(fd);
    }
  });
}

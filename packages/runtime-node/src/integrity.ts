import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { ModelLoadError } from './errors.js';

/** sha256 of a file, read in 4 MiB chunks (models can be hundreds of MB). */
export function sha256OfFile(path: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(4 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * The converter records the ONNX file's hash in the sidecar (`source.onnx_sha256`); a pair from two different
 * conversions (e.g. a run killed between its two renames) is refused here rather than mislabelling outputs.
 * Sidecars written before the hash existed load as before.
 */
export function checkModelPair(
  onnxPath: string,
  sidecarPath: string,
  source: Record<string, unknown> | undefined,
): void {
  const want = source?.onnx_sha256;
  if (want === undefined) return;
  if (typeof want !== 'string' || !/^[0-9a-f]{64}$/.test(want)) {
    throw new ModelLoadError(`${sidecarPath}: source.onnx_sha256 must be 64 hex digits, got ${JSON.stringify(want)}`);
  }
  let got: string;
  try {
    got = sha256OfFile(onnxPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'a folder, not a file' : (code ?? (err as Error).message);
    throw new ModelLoadError(`model file ${onnxPath} (named by ${basename(sidecarPath)}): ${why}`);
  }
  if (got !== want) {
    throw new ModelLoadError(
      `${onnxPath} does not match its sidecar ${basename(sidecarPath)} (sha256 ${got.slice(0, 12)}…, the sidecar ` +
        `records ${want.slice(0, 12)}…): the two files come from different conversions; convert the model again`,
    );
  }
}

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fixturePath } from '@semembed/test-fixtures';

/** The tiny test models and images other packages' tests read too (@semembed/test-fixtures, one copy). */
export const fixture = (name: string): string => fixturePath(`models/${name}`);
export const tmp = (): string => mkdtempSync(join(tmpdir(), 'semembed-quantize-'));
/** Debian's python3 with python3-onnx (a pyenv python3 on PATH may lack it). */
export const PYTHON = process.env.ONNX_PYTHON ?? '/usr/bin/python3';

/** onnx.checker.check_model(full_check=True) on a file; throws with the checker's message (or if onnx is missing). */
export function onnxCheck(path: string): void {
  const r = spawnSync(
    PYTHON,
    ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', path],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`onnx.checker failed on ${path}: ${r.stderr || r.error?.message}`);
}

export async function run(
  bytes: Uint8Array | string,
  x: Float32Array,
  dims: number[],
  opts: ort.InferenceSession.SessionOptions = {},
): Promise<Record<string, Float32Array>> {
  const s =
    typeof bytes === 'string'
      ? await ort.InferenceSession.create(bytes, opts)
      : await ort.InferenceSession.create(bytes, opts);
  try {
    const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) });
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Deterministic uniform numbers in [lo, hi). */
export function uniform(n: number, lo: number, hi: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

import { beforeAll, expect, it } from 'vitest';
import type * as tfType from '@tensorflow/tfjs';
import { selectBackend, type Tf } from '../src/backend.js';
import { BN_TRAIN } from '../src/bn-train.js';
import { loadNativeConv, type NativeConv } from '../src/native-conv.js';
import { randArr, size } from './kernel-cases.js';

type T = tfType.Tensor;

/** Largest absolute difference relative to the largest reference magnitude (floor 1e-6). */
export function relErr(got: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 1e-6;
  for (let i = 0; i < got.length; i++) {
    num = Math.max(num, Math.abs(got[i] - ref[i]));
    den = Math.max(den, Math.abs(ref[i]));
  }
  return num / den;
}

/**
 * True where the native addon may be missing: SEMEMBED_ALLOW_NO_NATIVE_CONV=1 (a machine without
 * g++/cmake/libopenblas-dev) or SEMEMBED_NATIVE_CONV=0 (measuring without it). Everywhere else (CI) a missing addon
 * fails the native kernels' tests.
 */
export const nativeAddonOptional =
  process.env.SEMEMBED_ALLOW_NO_NATIVE_CONV === '1' || process.env.SEMEMBED_NATIVE_CONV === '0';

/**
 * In a describe block of a kernel that the addon replaces on wasm: the wasm backend before the tests (`use` gets
 * its tf), and a test that `kernel` is registered exactly when the addon has `fn` (which it must have unless
 * nativeAddonOptional).
 */
export function wasmKernelSuite(kernel: string, fn: keyof NativeConv, use: (tf: Tf) => void): void {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await selectBackend('wasm')).tf;
    use(tf);
  });
  it(`${kernel} is registered when the addon is built`, () => {
    const { native } = loadNativeConv();
    if (!nativeAddonOptional) expect(native?.[fn], `native addon with ${fn}`).toBeDefined();
    expect(tf.getKernel(kernel, 'wasm') !== undefined).toBe(native?.[fn] !== undefined);
  });
}

/**
 * BatchNormalization training on `shape` (channels last), as the addon's fused BN_TRAIN kernel when `fused`, else
 * as tf.moments + tf.batchNorm: x, gamma and beta from seeds `seed`..`seed + 2`; `outs` are y, mean, variance and
 * the gradients of sum(y w1) + sum(mean w2) + sum(variance w3) (w from seeds 20..22) with respect to x, gamma,
 * beta (the batch statistics get gradients too, so dx's dmean / dvariance terms are checked). Call inside tf.tidy.
 */
export function bnTraining(
  tf: Tf,
  shape: number[],
  seed: number,
  fused: boolean,
): { x: T; gamma: T; beta: T; outs: T[] } {
  const C = shape[shape.length - 1];
  const lead = shape.slice(0, -1).map((_, i) => i);
  const x = tf.tensor(
    randArr(size(shape), seed).map((v, i) => v * (1 + (i % C)) + (i % C)),
    shape,
  );
  const gamma = tf.tensor1d(randArr(C, seed + 1).map((v) => v + 1));
  const beta = tf.tensor1d(randArr(C, seed + 2));
  const ws = [shape, [C], [C]].map((s, i) => tf.tensor(randArr(size(s), 20 + i), s));
  const f = (xx: T, g: T, b: T): T[] => {
    if (fused)
      return tf.engine().runKernel(BN_TRAIN, { x: xx, gamma: g, beta: b }, { varianceEpsilon: 1e-3 } as never) as T[];
    const m = tf.moments(xx, lead);
    return [tf.batchNorm(xx, m.mean, m.variance, b, g, 1e-3), m.mean, m.variance];
  };
  const loss = (xx: T, g: T, b: T) => tf.addN(f(xx, g, b).map((o, i) => tf.sum(tf.mul(o, ws[i])))) as tfType.Scalar;
  const grads = tf.grads(loss as never)([x, gamma, beta]);
  return { x, gamma, beta, outs: [...f(x, gamma, beta), ...grads] };
}

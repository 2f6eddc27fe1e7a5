import { beforeAll, expect, it } from 'vitest';
import { selectBackend, type Tf } from '../src/backend.js';
import { loadNativeConv, type NativeConv } from '../src/native-conv.js';

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


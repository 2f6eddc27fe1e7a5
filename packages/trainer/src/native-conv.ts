/**
 * The optional native convolution addon (native/conv.cc: im2col + OpenBLAS sgemm), built at install time by
 * scripts/build-native-conv.sh when g++, cmake and libopenblas-dev are present. wasm SIMD is 128 bits wide;
 * the machine's BLAS uses AVX2/AVX-512, 3-4x faster per core on the convolutions that dominate training.
 * Without the addon the wasm backend's XNNPACK kernels are used (same results to float rounding).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

type F32 = Float32Array;

export interface NativeConv {
  /** op 0: y = conv(x, w); 1: dw from (x, dy); 2: dx from (dy, w). geometry: n h w ci co kh kw sh sw pt pl oh ow. */
  conv(op: 0 | 1 | 2, a: Float32Array, b: Float32Array, out: Float32Array, geometry: Float32Array): void;
  setThreads(n: number): void;
  /** out[c] = scale * sum over rows of x viewed as [x.length / out.length, out.length] (double accumulation). */
  reduceRows?(x: Float32Array, out: Float32Array, scale: number): void;
  /** op 0: full * vec, 1: full + vec, 2: full - vec, 3: vec - full; vec repeats along full's last axis. */
  channelOp?(op: 0 | 1 | 2 | 3, full: Float32Array, vec: Float32Array, out: Float32Array): void;
  /** Batched sgemm; dims: batchA batchB m k n flags (bit 0: a stored [k, m], bit 1: b stored [n, k]). */
  matmul?(a: Float32Array, b: Float32Array, out: Float32Array, dims: Float32Array): void;
  /** Max-pooling gradient (first strictly greatest of a window); dims: n h w c oh ow sh sw kh kw pt pl. */
  maxPoolGrad?(x: Float32Array, dy: Float32Array, dx: Float32Array, dims: Float32Array): void;
  /** Keras SGD over all weights: arrays p, g, m, p', m' per weight; hyper lr, momentum, nesterov, clipnorm. */
  sgdStep?(arrays: F32[], hyper: number[]): number;
  /** out = dy * step(x): the Relu gradient in one pass. */
  reluGrad?(dy: F32, x: F32, out: F32): void;
  /** out = Math.max(0, x) (NaN kept), as the cpu backend's Relu. */
  relu?(x: F32, out: F32): void;
  /** Max pooling (NaN never wins; -Infinity for a window without a number); dims as maxPoolGrad's. */
  maxPool?(x: F32, y: F32, dims: F32): void;
  /**
   * The kernels' own threads (native/parallel.h), process-wide; returns the count in effect. A call's work is split
   * the same way for a given count, so results are reproducible per count (1 vs 2: float rounding of sums).
   */
  setNativeThreads?(n: number): number;
  /** That count: SEMEMBED_NATIVE_THREADS, else the hardware's threads (at most 4), until set. */
  nativeThreads?(): number;
  /** BatchNorm training forward over the last axis: y, per-channel mean and biased variance. */
  bnForward?(x: F32, gamma: F32, beta: F32, y: F32, mean: F32, variance: F32, eps: number): void;
  /** Its backward; dmean / dvariance are the gradients reaching the batch statistics (usually zero). */
  bnBackward?(
    x: F32,
    dy: F32,
    gamma: F32,
    mean: F32,
    variance: F32,
    dmean: F32,
    dvariance: F32,
    dx: F32,
    dgamma: F32,
    dbeta: F32,
    eps: number,
  ): void;
}

/** Where the build script puts the addon. */
export function nativeConvPath(): string {
  // src/ (tests) and dist/ are both one level below the package root.
  return path.join(
    path.dirname(fileURLToPath(import.meta.url)),
    '..',
    'native',
    'build',
    'Release',
    'semembed_conv.node',
  );
}

let cached: { native?: NativeConv; why: string } | undefined;

/** Loads the addon once per thread. `why` says what is used and, when not native, why. */
export function loadNativeConv(): { native?: NativeConv; why: string } {
  if (cached) return cached;
  const file = nativeConvPath();
  if (process.env.SEMEMBED_NATIVE_CONV === '0') {
    cached = { why: 'XNNPACK (wasm); the native OpenBLAS convolutions are off (SEMEMBED_NATIVE_CONV=0)' };
  } else if (!fs.existsSync(file)) {
    cached = {
      why: `XNNPACK (wasm); the native OpenBLAS convolutions are not built (${file} missing: run bash scripts/build-native-conv.sh; needs g++ cmake libopenblas-dev)`,
    };
  } else {
    try {
      const native = createRequire(import.meta.url)(file) as NativeConv;
      // One BLAS thread: the kernels split their work across their own threads (native/parallel.h), each
      // thread running its own single-threaded sgemm; OpenBLAS threading on top would oversubscribe the cores.
      native.setThreads(1);
      // Data-parallel helpers (worker threads, parallel.ts) already are the parallelism: the kernels' pool, shared
      // by the process, goes to one thread when the first helper loads the addon (unless SEMEMBED_NATIVE_THREADS
      // says how many), instead of 2 workers x 2 kernel threads on 2 cores.
      if (!isMainThread && !process.env.SEMEMBED_NATIVE_THREADS) native.setNativeThreads?.(1);
      cached = { native, why: 'native OpenBLAS (im2col + sgemm)' };
    } catch (err) {
      cached = {
        why: `XNNPACK (wasm); the native convolutions failed to load: ${(err as Error).message.split('\n')[0]}`,
      };
    }
  }
  return cached;
}

// The native evaluation kernel (native/, built by scripts/build-native-retrieval.sh): distances of a block of
// queries by BLAS with the JS engines' own arithmetic (FAISS's float32 formula in the JS kernel's own BLAS calls,
// blas-calls.ts, or |q|^2 + |b|^2 - 2 q.b in float64 with dgemm) fused with the per-row selection of the top `depth` and the AP positions of the class
// members (same order as the JS selection: ties by gallery index), over std::threads. The metrics stay in JS
// (numpy's summation emulated bit for bit) and run on the previous block while the next one is ranked.
import { createRequire } from 'node:module';
import type { Features } from './search.js';

export interface NativeKernel {
  create(
    gallery: Features,
    dim: number,
    innerProduct: boolean,
    labels: Int32Array,
    depth: number,
    ap: boolean,
    threads: number,
    rowsPerCall: number,
  ): unknown;
  /** Ranks the queries q0.. of the block on background threads; returns at once. */
  start(handle: unknown, queries: Features, q0: number, top: Int32Array, ranks: Int32Array, offsets: Int32Array): void;
  /** Joins the running block. */
  wait(handle: unknown): void;
  /** The OpenBLAS kernel in use (OPENBLAS_CORETYPE or the CPU's) and its thread count. */
  blasInfo(): { core: string; threads: number };
}

let cached: { kernel?: NativeKernel; error?: string } | undefined;

/** The addon, unless SEMEMBED_RETRIEVAL_NATIVE=0 or it is not built; else why not. */
export function loadNative(): { kernel?: NativeKernel; error?: string } {
  if (cached) return cached;
  if (process.env.SEMEMBED_RETRIEVAL_NATIVE === '0') return (cached = { error: 'SEMEMBED_RETRIEVAL_NATIVE=0' });
  try {
    // src/ (vitest) and dist/ both sit one level below the package root
    const path = new URL('../native/build/Release/semembed_retrieval.node', import.meta.url);
    cached = { kernel: createRequire(import.meta.url)(path.pathname) as NativeKernel };
  } catch (err) {
    cached = {
      error: `${(err as Error).message.split('\n')[0]} (run \`bash scripts/build-native-retrieval.sh\`)`,
    };
  }
  return cached;
}

export function nativeAvailable(): boolean {
  return loadNative().kernel !== undefined;
}

export interface NativeRun {
  gallery: Features;
  queries: Features;
  dim: number;
  innerProduct: boolean;
  labels: Int32Array;
  depth: number;
  ap: boolean;
  threads: number;
  batch: number;
  /** Query rows per BLAS call (rowsPerBlasCall; Searcher.blasRows), the calls cut from each batch's first row. */
  rowsPerCall: number;
  /** Called per query with its ranking prefix and AP positions (valid until the next call). */
  score: (q: number, top: Int32Array, ranks: Int32Array) => void;
  onProgress?: (done: number, total: number) => void;
}

/** Ranks every query natively, two blocks in flight: block b + 1 on the kernel's threads while b is scored. */
export function runNative(kernel: NativeKernel, run: NativeRun): void {
  const { gallery, queries, dim, labels, depth, batch } = run;
  const n = labels.length;
  let C = 0;
  for (const l of labels) C = Math.max(C, l + 1);
  const counts = new Int32Array(C);
  let most = 0;
  for (const l of labels) most = Math.max(most, ++counts[l]);
  const maxRanks = run.ap ? most - 1 : 0;
  const handle = kernel.create(gallery, dim, run.innerProduct, labels, depth, run.ap, run.threads, run.rowsPerCall);
  const slots = [0, 1].map(() => ({
    top: new Int32Array(batch * depth),
    ranks: new Int32Array(Math.max(1, batch * maxRanks)),
    offsets: new Int32Array(batch + 1),
  }));
  const launch = (q0: number, s: number) =>
    kernel.start(
      handle,
      queries.subarray(q0 * dim, Math.min(n, q0 + batch) * dim),
      q0,
      slots[s].top,
      slots[s].ranks,
      slots[s].offsets,
    );
  try {
    launch(0, 0);
    for (let q0 = 0, b = 0; q0 < n; q0 += batch, b++) {
      kernel.wait(handle);
      if (q0 + batch < n) launch(q0 + batch, (b + 1) & 1);
      const { top, ranks, offsets } = slots[b & 1];
      const q1 = Math.min(n, q0 + batch);
      for (let q = q0; q < q1; q++) {
        const r = q - q0;
        run.score(q, top.subarray(r * depth, (r + 1) * depth), ranks.subarray(offsets[r], offsets[r + 1]));
      }
      run.onProgress?.(q1, n);
    }
  } finally {
    kernel.wait(handle);
  }
}

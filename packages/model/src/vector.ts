/**
 * Vector helpers the runtimes, the gallery search and the converter share.
 *
 * L2 normalisation has ONE rule in this toolchain: v / max(‖v‖, eps) with eps = L2_EPS (1e-6), so a zero
 * vector stays zero and a tiny one stays tiny instead of becoming NaN or noise blown up to unit length. Where the
 * reference's own behaviour must be reproduced, the callers say so and use a different eps or check:
 *  - @semembed/hierarchy `--norm` (compute-class-embedding) divides by max(‖v‖, 1e-8), as the authors'
 *    released `*.pickle` class embeddings were made (the reference script itself divides by ‖v‖: NaN for 0);
 *  - @semembed/retrieval `--norm` (evaluate-retrieval) refuses a zero row with an error naming it, because
 *    the reference's NaN would silently rank it anywhere.
 */

/** The norm below which l2normalize divides by this instead (exactly sqrt(1e-12) in float64). */
export const L2_EPS = 1e-6;

/**
 * Indices of the k largest values with the values, largest first; ties keep the lower index first (so the
 * server's and the browser's results compare one to one); NaN is never taken. A bounded min-heap: O(n log k),
 * no sort of the whole array (a 10,000-row gallery is scanned once).
 */
export function topK(values: ArrayLike<number>, k: number): [number, number][] {
  const n = values.length;
  k = Math.max(0, Math.min(Math.floor(k), n));
  if (k === 0) return [];
  const heap = new Int32Array(k); // indices; root = the worst of the kept ones
  let size = 0;
  // a is worse than b: smaller value, or equal value and larger index.
  const worse = (a: number, b: number): boolean => values[a] < values[b] || (values[a] === values[b] && a > b);
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      const m = r < size && worse(heap[r], heap[l]) ? r : l;
      if (!worse(heap[m], heap[i])) return;
      const t = heap[i];
      heap[i] = heap[m];
      heap[m] = t;
      i = m;
    }
  };
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(values[i])) continue;
    if (size < k) {
      let j = size++;
      heap[j] = i;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (!worse(heap[j], heap[p])) break;
        const t = heap[j];
        heap[j] = heap[p];
        heap[p] = t;
        j = p;
      }
    } else if (worse(heap[0], i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  const out: [number, number][] = [];
  while (size > 0) {
    out.push([heap[0], values[heap[0]]]);
    heap[0] = heap[--size];
    siftDown(0);
  }
  return out.reverse();
}

/** Scales v to unit length in place: v / max(‖v‖, eps) (a zero vector stays zero; see the file comment). */
export function l2normalize<T extends Float32Array | Float64Array>(v: T, eps = L2_EPS): T {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.max(Math.sqrt(s), eps);
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/** l2normalize for each row of a row-major n x dim matrix, in place; returns how many rows were below eps. */
export function l2normalizeRows<T extends Float32Array | Float64Array>(x: T, dim: number, eps = L2_EPS): number {
  let small = 0;
  for (let off = 0; off < x.length; off += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[off + j] * x[off + j];
    const nrm = Math.sqrt(s);
    if (nrm < eps) small++;
    const div = Math.max(nrm, eps);
    for (let j = 0; j < dim; j++) x[off + j] /= div;
  }
  return small;
}

/** Softmax in place, shifted by the maximum so large logits do not overflow. */
export function softmaxInPlace(v: Float32Array): Float32Array {
  let m = -Infinity;
  for (const x of v) m = Math.max(m, x);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] = Math.exp(v[i] - m);
  for (let i = 0; i < v.length; i++) v[i] /= s;
  return v;
}

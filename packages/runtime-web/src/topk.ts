/**
 * Indices of the k largest values, largest first; ties keep the lower index first (the order
 * runtime-node's topK and its /v1/search give, so browser and server results compare one to one).
 * A bounded min-heap: O(n log k), no sort of the whole array (a 10,000-row gallery is scanned once).
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

/** Scales v to unit length in place (a zero vector stays zero). */
export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(Math.max(s, 1e-12));
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

export function softmaxInPlace(v: Float32Array): Float32Array {
  let m = -Infinity;
  for (const x of v) m = Math.max(m, x);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] = Math.exp(v[i] - m);
  for (let i = 0; i < v.length; i++) v[i] /= s;
  return v;
}

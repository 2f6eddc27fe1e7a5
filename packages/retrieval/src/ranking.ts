// Turning a row of distances into what the metrics need, with ties broken by gallery index (a stable sort;
// the reference's numpy introsort orders ties arbitrarily, quirk Q15).
//
// Each item gets one float64 key that orders like (distance, index) and is unique: for float32 distances the
// order-preserving 32-bit image of the float followed by the index bits (exact in a double for n <= 2^21);
// float64 distances are argsorted first and the key is (rank, index). Unique keys make selection and native
// typed-array sorting tie-free.
import { RetrievalError } from './errors.js';

export const MAX_GALLERY = 1 << 21;

export class RowRanker {
  readonly keys: Float64Array;
  private readonly scratch: Float64Array;
  private readonly shift: number;
  private order?: Uint32Array;
  private u32?: Uint32Array;
  private idxA?: Uint32Array;
  private idxB?: Uint32Array;
  private hist?: Uint32Array;
  private loaded?: 'float32' | 'float64';

  constructor(readonly n: number) {
    if (n > MAX_GALLERY) throw new RetrievalError(`gallery of ${n} items: at most ${MAX_GALLERY} are supported`);
    const bits = Math.max(1, Math.ceil(Math.log2(n)));
    this.shift = 2 ** bits;
    this.keys = new Float64Array(n);
    this.scratch = new Float64Array(n);
  }

  /** Loads one distance row (smaller = closer). */
  load(row: Float32Array | Float64Array): void {
    const { n, keys, shift } = this;
    if (row instanceof Float32Array) {
      const bits = new Uint32Array(row.buffer, row.byteOffset, n);
      const u32 = (this.u32 ??= new Uint32Array(n));
      for (let i = 0; i < n; i++) {
        let u = bits[i];
        if (u === 0x80000000) u = 0; // -0 ties with +0, as in numpy
        const s = u >>> 31 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
        u32[i] = s;
        keys[i] = s * shift + i;
      }
      this.loaded = 'float32';
    } else {
      const order = (this.order ??= new Uint32Array(n));
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((a, b) => row[a] - row[b] || a - b);
      for (let r = 0; r < n; r++) keys[order[r]] = r * shift + order[r];
      this.loaded = 'float64';
    }
  }

  /**
   * The whole ranking: for float32 rows an LSD radix sort (3 x 11 bits) of the order-preserving distance bits,
   * stable, hence ties by index; for float64 rows the argsort done by load().
   */
  private full(out: Int32Array): Int32Array {
    const n = this.n;
    if (this.loaded === 'float64') {
      out.set(this.order!.subarray(0, n));
      return out;
    }
    const u = this.u32!;
    const a = (this.idxA ??= new Uint32Array(n));
    const b = (this.idxB ??= new Uint32Array(n));
    const hist = (this.hist ??= new Uint32Array(3 * 2048));
    hist.fill(0);
    for (let i = 0; i < n; i++) {
      const v = u[i];
      hist[v & 2047]++;
      hist[2048 + ((v >>> 11) & 2047)]++;
      hist[4096 + (v >>> 22)]++;
    }
    for (let d = 0; d < 3; d++) {
      let acc = 0;
      for (let j = d * 2048; j < (d + 1) * 2048; j++) {
        const c = hist[j];
        hist[j] = acc;
        acc += c;
      }
    }
    for (let i = 0; i < n; i++) a[hist[u[i] & 2047]++] = i;
    for (let i = 0; i < n; i++) {
      const j = a[i];
      b[hist[2048 + ((u[j] >>> 11) & 2047)]++] = j;
    }
    for (let i = 0; i < n; i++) {
      const j = b[i];
      out[hist[4096 + (u[j] >>> 22)]++] = j;
    }
    return out;
  }

  /** The first m items of the ranking (gallery indices). */
  top(m: number, out: Int32Array = new Int32Array(m)): Int32Array {
    const { n, scratch, keys, shift } = this;
    let head: Float64Array;
    if (m >= n) return this.full(out);
    {
      // bounded max-heap of the m smallest keys: one comparison per item, few heap updates for m << n
      head = scratch.subarray(0, m);
      head.set(keys.subarray(0, m));
      for (let i = (m >> 1) - 1; i >= 0; i--) siftDown(head, i, m);
      for (let i = m; i < n; i++) {
        const k = keys[i];
        if (k < head[0]) {
          head[0] = k;
          siftDown(head, 0, m);
        }
      }
    }
    head.sort();
    for (let i = 0; i < head.length; i++) out[i] = head[i] % shift;
    return out;
  }

  /**
   * 0-based positions, in the ranking without `qid`, of the gallery items `members` (those of class `lbl`
   * in `labels`) other than qid. Returned ascending.
   */
  ranksOf(members: Int32Array, qid: number, labels: Int32Array, lbl: number): Float64Array {
    const { keys, n } = this;
    let P = 0;
    const rk = new Float64Array(members.length);
    for (let j = 0; j < members.length; j++) if (members[j] !== qid) rk[P++] = keys[members[j]];
    const out = new Float64Array(P);
    if (P === 0) return out;
    const sorted = rk.subarray(0, P).sort();
    const hist = new Float64Array(P);
    const kmin = sorted[0],
      kmax = sorted[P - 1];
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      if (k > kmax || labels[i] === lbl || i === qid) continue;
      if (k < kmin) {
        hist[0]++;
        continue;
      }
      let lo = 0,
        hi = P; // first j with sorted[j] > k
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid] > k) hi = mid;
        else lo = mid + 1;
      }
      hist[lo]++;
    }
    let acc = 0;
    for (let j = 0; j < P; j++) {
      acc += hist[j];
      out[j] = acc + j;
    }
    return out;
  }
}

function siftDown(h: Float64Array, i: number, m: number): void {
  const v = h[i];
  for (;;) {
    let c = 2 * i + 1;
    if (c >= m) break;
    if (c + 1 < m && h[c + 1] > h[c]) c++;
    if (h[c] <= v) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = v;
}

/** Rearranges a so that its m smallest values come first (in any order). Values must be distinct. */
export function quickselect(a: Float64Array, m: number): void {
  let lo = 0,
    hi = a.length - 1;
  const k = m - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // median of three as pivot
    const x = a[lo],
      y = a[mid],
      z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo,
      j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

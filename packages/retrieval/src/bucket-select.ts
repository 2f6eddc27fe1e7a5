// Partial selection of a distance row by a bucket histogram: the first m items of the ranking and the ranking
// positions of the query's class members (what AP needs), the same results as RowRanker (ties by gallery index),
// in a few cheap linear passes instead of a heap and a binary search per item:
//   1. min/max of the row, then each item's bucket floor((d - min) * B / (max - min)) and a histogram. Buckets are
//      monotonic in d (every step rounds monotonically), so bucket order never contradicts distance order.
//   2. the buckets up to the one where the count reaches m hold the top m: only those items are sorted exactly;
//      a member's position is the count of non-members in lower buckets (histogram prefix minus members) plus the
//      non-members of its own bucket that rank before it (the only items compared exactly).
import { RetrievalError } from './errors.js';

export class BucketSelector {
  private readonly bucketOf: Uint16Array;
  private readonly hist: Int32Array;
  private readonly classHist: Int32Array;
  private readonly flag: Uint8Array;
  private readonly cand: Int32Array;
  private readonly shared: Int32Array;
  private readonly start: Int32Array;
  private readonly fillAt: Int32Array;
  private readonly keys: Float64Array;
  private readonly u32: Uint32Array;
  private readonly f32: Float32Array;
  private readonly shift: number;
  readonly buckets: number;

  constructor(readonly n: number) {
    if (n > 1 << 21) throw new RetrievalError(`gallery of ${n} items: at most ${1 << 21} are supported`);
    this.buckets = Math.max(64, Math.min(16384, n >> 2));
    this.bucketOf = new Uint16Array(n);
    this.hist = new Int32Array(this.buckets);
    this.classHist = new Int32Array(this.buckets);
    this.flag = new Uint8Array(this.buckets);
    this.cand = new Int32Array(n);
    this.shared = new Int32Array(n);
    this.start = new Int32Array(this.buckets);
    this.fillAt = new Int32Array(this.buckets);
    this.keys = new Float64Array(n);
    this.u32 = new Uint32Array(1);
    this.f32 = new Float32Array(this.u32.buffer);
    this.shift = 2 ** Math.max(1, Math.ceil(Math.log2(n)));
  }

  /** Sorts idx[0..count) by (row[i], i). float32: unique float64 keys (order-preserving bits, index) sorted natively. */
  private sortByDistance(row: Float32Array | Float64Array, idx: Int32Array, count: number): void {
    if (count < 2) return;
    if (row instanceof Float32Array) {
      const { keys, shift, u32, f32 } = this;
      for (let t = 0; t < count; t++) {
        const i = idx[t];
        f32[0] = row[i];
        let u = u32[0];
        if (u === 0x80000000) u = 0; // -0 ties with +0
        keys[t] = (u >>> 31 ? ~u >>> 0 : (u | 0x80000000) >>> 0) * shift + i;
      }
      const k = keys.subarray(0, count).sort();
      for (let t = 0; t < count; t++) idx[t] = k[t] % shift;
    } else {
      idx.subarray(0, count).sort((a, b) => row[a] - row[b] || a - b);
    }
  }

  /**
   * The first m (< n) items of the ranking of `row` (smaller = closer, ties by index) into `out`; with `members`
   * (the gallery indices of class `lbl` in `labels`), also the ascending 0-based positions, in the ranking without
   * `qid`, of the members other than qid (RowRanker.ranksOf).
   */
  scan(
    row: Float32Array | Float64Array,
    m: number,
    out: Int32Array,
    members?: Int32Array,
    qid = -1,
    labels?: Int32Array,
    lbl = -1,
  ): Float64Array | undefined {
    const { n, bucketOf, hist, classHist, flag, cand, buckets: B } = this;
    // the range from a sample of the row: buckets only need to be monotonic (values outside are clamped)
    let lo = Infinity, hi = -Infinity;
    const step = Math.max(1, n >> 10);
    for (let i = 0; i < n; i += step) {
      const d = row[i];
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    const scale = hi > lo ? B / (hi - lo) : 0;
    hist.fill(0);
    for (let i = 0; i < n; i++) {
      let b = ((row[i] - lo) * scale) | 0; // truncation; negative values clamp to 0 below
      if (b >= B) b = B - 1;
      else if (b < 0) b = 0;
      bucketOf[i] = b;
      hist[b]++;
    }
    // bucket T: the first where the running count reaches m
    let T = 0;
    for (let acc = 0; T < B; T++) {
      acc += hist[T];
      if (acc >= m) break;
    }
    if (!members) {
      let top = 0;
      for (let i = 0; i < n; i++) if (bucketOf[i] <= T) cand[top++] = i;
      this.sortByDistance(row, cand, top);
      out.set(cand.subarray(0, m));
      return undefined;
    }
    let P = 0;
    classHist.fill(0);
    flag.fill(0);
    const mem = new Int32Array(members.length);
    for (const j of members) {
      classHist[bucketOf[j]]++;
      if (j !== qid) {
        mem[P++] = j;
        flag[bucketOf[j]] = 1;
      }
    }
    // the non-members of the buckets holding a member, grouped by bucket (their counts are known: histogram
    // minus the class's items), collected in the same pass as the top candidates
    const { start, fillAt, shared } = this;
    let total = 0;
    for (let b = 0; b < B; b++)
      if (flag[b]) {
        start[b] = fillAt[b] = total;
        total += hist[b] - classHist[b];
      }
    let top = 0;
    for (let i = 0; i < n; i++) {
      const b = bucketOf[i];
      if (b <= T) cand[top++] = i;
      if (flag[b] && labels![i] !== lbl) shared[fillAt[b]++] = i;
    }
    this.sortByDistance(row, cand, top);
    out.set(cand.subarray(0, m));
    const ranks = new Float64Array(P);
    if (P === 0) return ranks;
    this.sortByDistance(row, mem, P);
    // position of member j = non-members in lower buckets + non-members of its bucket before it + j
    let below = 0, bucket = 0;
    for (let j = 0; j < P; j++) {
      const mj = mem[j];
      const bj = bucketOf[mj];
      for (; bucket < bj; bucket++) below += hist[bucket] - classHist[bucket];
      const d = row[mj];
      let within = 0;
      for (let t = start[bj], e = fillAt[bj]; t < e; t++) {
        const o = shared[t];
        const od = row[o];
        if (od < d || (od === d && o < mj)) within++;
      }
      ranks[j] = below + within + j;
    }
    return ranks;
  }
}

// Partial selection of a distance row by a bucket histogram: the first m items of the ranking and the ranking
// positions of the query's class members (what AP needs), the same results as RowRanker (ties by gallery index),
// in a few cheap linear passes instead of a heap and a binary search per item:
//   1. the range of a sample of the row, then in one pass each item's bucket floor((d - lo) * B / (hi - lo)),
//      clamped, into a histogram, collecting the items up to a bucket guessed from the sample and the non-members
//      sharing a bucket with a member. Buckets are monotonic in d (every step rounds monotonically), so bucket order
//      never contradicts distance order.
//   2. the buckets up to the one where the count reaches m hold the top m: only those items are sorted exactly
//      (a second pass only when the guess was short); a member's position is the count of non-members in lower
//      buckets (histogram prefix minus members) plus the non-members of its own bucket that rank before it (counted
//      per member in small buckets; in a crowded one each non-member is placed among the members by a binary search).
import { RetrievalError } from './errors.js';

// A bucket with at least this many members (the query not counted) and more non-members than CROWDED_ITEMS places
// each non-member among its members by a binary search (crowdedRanks): log2(members) compares per non-member instead
// of one per member per non-member (the main job's features put ~1000 members and ~8000 items in one bucket).
// Below, the plain count is as cheap and has no set-up.
const CROWDED_MEMBERS = 8;
const CROWDED_ITEMS = 32;

export class BucketSelector {
  private readonly hist: Int32Array;
  private readonly classHist: Int32Array;
  private readonly flag: Uint8Array;
  private readonly cand: Int32Array;
  private readonly shared: Int32Array;
  private readonly sharedBucket: Int32Array;
  private readonly cand2: Int32Array;
  private readonly sample: Float64Array;
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
    this.hist = new Int32Array(this.buckets);
    this.classHist = new Int32Array(this.buckets);
    this.flag = new Uint8Array(this.buckets);
    this.cand = new Int32Array(n);
    this.shared = new Int32Array(n);
    this.sharedBucket = new Int32Array(n);
    this.cand2 = new Int32Array(n);
    this.sample = new Float64Array(1100);
    this.start = new Int32Array(this.buckets);
    this.fillAt = new Int32Array(this.buckets);
    this.keys = new Float64Array(n);
    this.u32 = new Uint32Array(1);
    this.f32 = new Float32Array(this.u32.buffer);
    this.shift = 2 ** Math.max(1, Math.ceil(Math.log2(n)));
  }

  /** Sorts idx[0..count) by (row[i], i); float32: unique float64 keys (order-preserving bits, index), native sort. */
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

  /** The k-th smallest (0-based, clamped) of row[0], row[step], ...: a bounded insertion of the k + 1 smallest. */
  private sampleQuantile(row: Float32Array | Float64Array, step: number, k: number): number {
    const keep = this.sample;
    const cap = Math.min(keep.length, k + 1);
    let len = 0;
    for (let i = 0; i < row.length; i += step) {
      const d = row[i];
      if (len === cap && d >= keep[cap - 1]) continue;
      let p = len < cap ? len++ : cap - 1;
      while (p > 0 && keep[p - 1] > d) {
        keep[p] = keep[p - 1];
        p--;
      }
      keep[p] = d;
    }
    return keep[len - 1];
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
    const { n, hist, classHist, flag, cand, buckets: B } = this;
    // the range from a sample of the row: buckets only need to be monotonic (values outside are clamped)
    const step = Math.max(1, n >> 10);
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 0; i < n; i += step) {
      const d = row[i];
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    const scale = hi > lo ? B / (hi - lo) : 0;
    const bucket = (d: number): number => {
      // clamped before the truncation: `| 0` wraps modulo 2^32, so a far outlier the sample missed (e.g. 1e30 beside
      // distances < 1) would land in an arbitrary bucket, not the last (and rank before everything above it)
      const x = (d - lo) * scale;
      return x >= B ? B - 1 : x > 0 ? x | 0 : 0;
    };
    // a guess of the bucket that completes the top m, from the sample (about twice m items, plus a margin), so that
    // one pass over the row both counts and collects; a wrong guess costs a second pass, never a wrong result
    const guess = this.sampleQuantile(row, step, Math.ceil(((n / step) * 2 * m) / n) + 8);
    const Tg = bucket(guess);
    let P = 0;
    const mem = members ? new Int32Array(members.length) : undefined;
    if (members) {
      classHist.fill(0);
      flag.fill(0);
      for (const j of members) {
        const b = bucket(row[j]);
        classHist[b]++;
        if (j !== qid) {
          mem![P++] = j;
          flag[b] = 1;
        }
      }
    }
    // one pass: the histogram, the top candidates, and the non-members sharing a bucket with a member
    hist.fill(0);
    const { shared, sharedBucket } = this;
    let top = 0,
      ns = 0;
    if (members) {
      for (let i = 0; i < n; i++) {
        const b = bucket(row[i]);
        hist[b]++;
        if (b <= Tg) cand[top++] = i;
        if (flag[b] && labels![i] !== lbl) {
          shared[ns] = i;
          sharedBucket[ns++] = b;
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const b = bucket(row[i]);
        hist[b]++;
        if (b <= Tg) cand[top++] = i;
      }
    }
    // T: the bucket where the running count reaches m
    let T = 0;
    for (let acc = 0; T < B; T++) {
      acc += hist[T];
      if (acc >= m) break;
    }
    if (T > Tg) {
      top = 0;
      for (let i = 0; i < n; i++) if (bucket(row[i]) <= T) cand[top++] = i;
    } else if (T < Tg) {
      let k = 0;
      for (let t = 0; t < top; t++) if (bucket(row[cand[t]]) <= T) cand[k++] = cand[t];
      top = k;
    }
    this.sortByDistance(row, cand, top);
    out.set(cand.subarray(0, m));
    if (!members) return undefined;
    const ranks = new Float64Array(P);
    if (P === 0) return ranks;
    // group the shared non-members by bucket (counting sort over the flagged buckets)
    const { start, fillAt, cand2 } = this;
    let total = 0;
    for (let b = 0; b < B; b++)
      if (flag[b]) {
        start[b] = fillAt[b] = total;
        total += hist[b] - classHist[b]; // every non-member of a flagged bucket is shared
      }
    for (let t = 0; t < ns; t++) cand2[fillAt[sharedBucket[t]]++] = shared[t];
    this.sortByDistance(row, mem!, P);
    // position of member j = non-members in lower buckets + non-members of its bucket before it + j. The members of a
    // bucket are a run of mem (buckets are monotonic); a crowded bucket (a whole class near one distance: members x
    // non-members compares per row) goes to crowdedRanks. The native kernel sorts such a bucket instead (select.h):
    // in JS a float64 sort takes a comparator call per compare, the binary search needs no sort at all
    let below = 0,
      b0 = 0;
    for (let j = 0; j < P;) {
      const bj = bucket(row[mem![j]]);
      for (; b0 < bj; b0++) below += hist[b0] - classHist[b0];
      let e = j + 1;
      while (e < P && bucket(row[mem![e]]) === bj) e++;
      const s = start[bj],
        f = fillAt[bj];
      if (e - j >= CROWDED_MEMBERS && f - s > CROWDED_ITEMS) j = this.crowdedRanks(row, mem!, j, e, s, f, below, ranks);
      else
        for (; j < e; j++) {
          const mj = mem![j];
          const d = row[mj];
          let within = 0;
          for (let t = s; t < f; t++) {
            const o = cand2[t];
            const od = row[o];
            if (od < d || (od === d && o < mj)) within++;
          }
          ranks[j] = below + within + j;
        }
    }
    return ranks;
  }

  /**
   * ranks[j0..j1) of the sorted members mem[j0..j1), all in one bucket whose non-members are cand2[s..f). Each
   * non-member is placed among the members by a binary search (it comes before all members from the first one that
   * does not rank before it); member q's count is then the non-members placed at or before q: log2(members) compares
   * per non-member instead of one per member, no sort. Returns j1.
   */
  private crowdedRanks(
    row: Float32Array | Float64Array,
    mem: Int32Array,
    j0: number,
    j1: number,
    s: number,
    f: number,
    below: number,
    ranks: Float64Array,
  ): number {
    const k = j1 - j0;
    // scratch: keys (the sorts are done) holds the members' distances, sharedBucket (grouped into cand2) the counts
    const { cand2, keys: md, sharedBucket: count } = this;
    for (let q = 0; q < k; q++) md[q] = row[mem[j0 + q]];
    count.fill(0, 0, k + 1);
    for (let t = s; t < f; t++) {
      const o = cand2[t];
      const od = row[o];
      let lo = 0,
        hi = k;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const dm = md[mid];
        if (dm < od || (dm === od && mem[j0 + mid] < o)) lo = mid + 1;
        else hi = mid;
      }
      count[lo]++;
    }
    for (let q = 0, within = 0; q < k; q++) {
      within += count[q];
      ranks[j0 + q] = below + within + j0 + q;
    }
    return j1;
  }
}

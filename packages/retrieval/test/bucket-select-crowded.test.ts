// Crowded buckets in the JS selection: a bucket holding a run of >= 8 class members and > 32 other items places each
// other item among the members by a binary search instead of counting, per member, the items before it. Checked here
// against an independent reference, a plain full sort of the row by (distance, index) (quirk Q15: ties by gallery
// index), on the crowded layouts of native-crowded.test.ts and on random rows, in float32 and float64. Ties decide the
// ranks on three layouts, so a kernel breaking them by descending index fails; so does one counting the query. Also: a
// far outlier the range sample misses lands in the last bucket (its bucket number once wrapped modulo 2^32).
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@semembed/formats';
import { BucketSelector } from '../src/index.js';

type Row = Float32Array | Float64Array;

/** The reference: the whole row sorted by (distance, index), or by (distance, -index) for the reversed-tie mutant. */
function reference(
  row: Row,
  labels: Int32Array,
  q: number,
  m: number,
  reversedTies = false,
): { top: number[]; ranks: number[] } {
  const order = Array.from({ length: row.length }, (_, i) => i).sort(
    (a, b) => row[a] - row[b] || (reversedTies ? b - a : a - b),
  );
  const ranks: number[] = [];
  let pos = 0;
  for (const i of order) {
    if (i === q) continue; // the query is not part of its own ranking
    if (labels[i] === labels[q]) ranks.push(pos);
    pos++;
  }
  return { top: order.slice(0, m), ranks };
}

function scan(
  sel: BucketSelector,
  row: Row,
  labels: Int32Array,
  q: number,
  m: number,
): { top: number[]; ranks: number[] } {
  const members = Int32Array.from(
    Array.from({ length: row.length }, (_, i) => i).filter((i) => labels[i] === labels[q]),
  );
  const top = new Int32Array(m);
  const ranks = sel.scan(row, m, top, members, q, labels, labels[q])!;
  return { top: Array.from(top), ranks: Array.from(ranks) };
}

/** The largest run of q's class members (q excluded) sharing a bucket as BucketSelector draws them, and that
 * bucket's other items: whether the binary-search path runs for this row. */
function crowding(row: Row, labels: Int32Array, q: number): { members: number; others: number } {
  const n = row.length;
  const B = Math.max(64, Math.min(16384, n >> 2));
  const step = Math.max(1, n >> 10);
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < n; i += step) [lo, hi] = [Math.min(lo, row[i]), Math.max(hi, row[i])];
  const members = new Int32Array(B),
    others = new Int32Array(B);
  for (let j = 0; j < n; j++) {
    const b = hi > lo ? Math.max(0, Math.min(B - 1, Math.floor(((row[j] - lo) * B) / (hi - lo)))) : 0;
    if (labels[j] !== labels[q]) others[b]++;
    else if (j !== q) members[b]++;
  }
  let best = 0;
  for (let b = 0; b < B; b++) if (members[b] >= 8 && others[b] > others[best] * +(members[best] >= 8)) best = b;
  return { members: members[best], others: others[best] };
}

type Layout = 'line' | 'outlier' | 'equal' | 'grid' | 'onehot';

/** native-crowded.test.ts's layouts as points; the rows are squared L2 distances (inner product: minus the dot). */
function layout(
  kind: Layout,
  n: number,
  seed: number,
): { x: Float64Array; dim: number; labels: Int32Array; ip: boolean } {
  const r = mulberry32(seed);
  if (kind === 'onehot') {
    const dim = 4; // saturated softmax outputs, 15% on a wrong class: distances -1 or -0
    const labels = Int32Array.from({ length: n }, (_, i) => i % dim);
    const x = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) x[i * dim + (r() < 0.85 ? labels[i] : Math.floor(r() * dim))] = 1;
    return { x, dim, labels, ip: true };
  }
  if (kind === 'grid') {
    const x = Float64Array.from({ length: n * 3 }, () => (r() < 0.5 ? 0 : 1)); // 8 points: ~n / 8 items per distance
    return { x, dim: 3, labels: Int32Array.from({ length: n }, (_, i) => i % 4), ip: false };
  }
  if (kind === 'equal')
    return {
      x: new Float64Array(n * 4).fill(0.75),
      dim: 4,
      labels: Int32Array.from({ length: n }, (_, i) => i % 3),
      ip: false,
    };
  // tight clusters (noise 1e-4) at 0, 1, 2, .. on a line; with a far outlier (item 7) everything else shares bucket 0
  const C = kind === 'line' ? 10 : 5;
  const labels = Int32Array.from({ length: n }, (_, i) => i % C);
  const x = Float64Array.from({ length: n * 2 }, (_, t) => (t % 2 === 0 ? labels[t >> 1] : 0) + 1e-4 * r());
  if (kind === 'outlier') x[14] = 1e3;
  return { x, dim: 2, labels, ip: false };
}

function rowOf({ x, dim, ip }: { x: Float64Array; dim: number; ip: boolean }, n: number, q: number): Float64Array {
  return Float64Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let t = 0; t < dim; t++) s += ip ? -x[q * dim + t] * x[j * dim + t] : (x[q * dim + t] - x[j * dim + t]) ** 2;
    return s;
  });
}

// [layout, n, whether the members share their bucket with > 32 other items (the binary-search path runs; on the line
// each class has a bucket of its own), whether its distances tie (then the reversed-tie mutant must differ)]
const layouts: [Layout, number, boolean, boolean][] = [
  ['line', 1000, false, false],
  ['outlier', 1200, true, false],
  ['equal', 900, true, true],
  ['grid', 1200, true, true],
  ['onehot', 1200, true, true],
];

describe('BucketSelector on crowded buckets = a full sort by (distance, index)', () => {
  it.each(layouts)('%s layout (n = %i), float32 and float64, several queries and depths', (kind, n, shared, ties) => {
    const d = layout(kind, n, n + 1);
    const sel = new BucketSelector(n); // one selector for every row: no state may leak between rows
    let mutantDiffers = false;
    for (const q of [0, 7, 13, n - 1])
      for (const row of [rowOf(d, n, q), Float32Array.from(rowOf(d, n, q))]) {
        const { members, others } = crowding(row, d.labels, q);
        expect(members).toBeGreaterThanOrEqual(8);
        if (shared) expect(others).toBeGreaterThan(32);
        else expect(others).toBe(0);
        for (const m of [1, 250, n - 1]) {
          const ref = reference(row, d.labels, q, m);
          const got = scan(sel, row, d.labels, q, m);
          expect(got.top).toEqual(ref.top);
          expect(got.ranks).toEqual(ref.ranks);
          // the data decide the tie order: the ranks of a kernel that broke ties by descending index would differ
          if (m === 250) mutantDiffers ||= reference(row, d.labels, q, m, true).ranks.join() !== got.ranks.join();
        }
      }
    expect(mutantDiffers).toBe(ties);
  });

  it('a far outlier the range sample misses goes to the last bucket (no 32-bit wrap of its bucket number)', () => {
    const n = 3000; // the range is sampled at every 2nd item: item 111 is not seen
    const r = mulberry32(3);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    for (const big of [1e12, 1e30])
      for (const row of [Float64Array.from({ length: n }, () => r()), Float32Array.from({ length: n }, () => r())]) {
        row[111] = big;
        for (const q of [0, 1, 2, 111]) {
          const got = scan(new BucketSelector(n), row, labels, q, 251);
          const ref = reference(row, labels, q, 251);
          expect(got.top).toEqual(ref.top);
          expect(got.ranks).toEqual(ref.ranks);
        }
      }
  });

  it('random rows: gaussian, few distinct values (big ties), signed zeros, a far outlier', () => {
    const r = mulberry32(11);
    const n = 3000;
    const sel = new BucketSelector(n);
    let crowded = 0;
    for (let t = 0; t < 24; t++) {
      const classes = [3, 10, 40][t % 3];
      const labels = Int32Array.from({ length: n }, () => Math.floor(r() * classes));
      const kind = t % 4;
      const d = Float64Array.from(
        { length: n },
        () =>
          kind === 0
            ? Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(6.283 * r())
            : kind === 1
              ? Math.floor(r() * 6) - 3 // six values, some -0 below
              : kind === 2
                ? 5 + 1e-6 * r() // one narrow band
                : r() ** 4, // skewed towards 0
      );
      if (kind === 1) for (let i = 0; i < n; i += 5) if (d[i] === 0) d[i] = -0;
      if (kind === 3) d[(t * 37) % n] = 1e30;
      const q = (t * 131) % n;
      for (const row of [d, Float32Array.from(d)]) {
        crowded += +(crowding(row, labels, q).members >= 8);
        const m = [1, 251, 2999][t % 3];
        const got = scan(sel, row, labels, q, m);
        const ref = reference(row, labels, q, m);
        expect(got.top).toEqual(ref.top);
        expect(got.ranks).toEqual(ref.ranks);
      }
    }
    expect(crowded).toBeGreaterThan(16); // most rows take the binary-search path somewhere
  });
});

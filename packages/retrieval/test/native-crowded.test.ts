// Crowded buckets: the native selection (native/select.h) sorts a bucket of more than 32 items once (std::sort, or a
// radix sort from 256 float32 items) instead of counting, per class member, the bucket's items before it. The main
// job's features put a whole class (and many exactly equal distances) into a few buckets; these cases do the same on
// purpose and the native kernel must still give exactly what the JS kernel gives, ties by gallery index (quirk Q15).
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@semembed/formats';
import { evaluateRetrieval, type EvaluateOptions } from '../src/index.js';
import { cifarSimilarities } from './helpers.js';

const { sims } = cifarSimilarities();

type Layout = 'line' | 'outlier' | 'equal' | 'grid' | 'onehot';

interface Data {
  x: Float64Array;
  dim: number;
  labels: Int32Array;
  ip: boolean;
}

function data(layout: Layout, n: number, seed: number): Data {
  const r = mulberry32(seed);
  if (layout === 'onehot') {
    // saturated softmax outputs (one-hot, 15% on a wrong class), ranked by inner product: distances -1 or -0
    const dim = 4;
    const labels = Int32Array.from({ length: n }, (_, i) => i % dim);
    const x = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) {
      const c = r() < 0.85 ? labels[i] : Math.floor(r() * dim);
      x[i * dim + c] = 1;
    }
    return { x, dim, labels, ip: true };
  }
  if (layout === 'grid') {
    // 8 distinct points of {0, 1}^3: ~n / 8 items at every distance, the query tied with its twins
    const dim = 3;
    const x = Float64Array.from({ length: n * dim }, () => (r() < 0.5 ? 0 : 1));
    return { x, dim, labels: Int32Array.from({ length: n }, (_, i) => i % 4), ip: false };
  }
  if (layout === 'equal') {
    // every item at the same point: every distance of every row is equal
    const dim = 4;
    return {
      x: new Float64Array(n * dim).fill(0.75),
      dim,
      labels: Int32Array.from({ length: n }, (_, i) => i % 3),
      ip: false,
    };
  }
  // classes as tight clusters (noise 1e-4) at 0, 1, 2, .. on a line: each class fills one bucket of its own; with one
  // far outlier (item 7) the whole gallery but it falls into the first bucket
  const dim = 2;
  const C = layout === 'line' ? 10 : 5;
  const labels = Int32Array.from({ length: n }, (_, i) => i % C);
  const x = Float64Array.from(
    { length: n * dim },
    (_, t) => (t % dim === 0 ? labels[Math.floor(t / dim)] : 0) + 1e-4 * r(),
  );
  if (layout === 'outlier') x[7 * dim] = 1e3;
  return { x, dim, labels, ip: false };
}

/** Of the buckets of query q's row (drawn as select.h draws them), the one holding most of q's class (q excluded):
 * its member count and its size (all items). */
function crowding({ x, dim, labels, ip }: Data, q: number): { members: number; items: number } {
  const n = labels.length;
  const row = Float64Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let t = 0; t < dim; t++) s += ip ? -x[q * dim + t] * x[j * dim + t] : (x[q * dim + t] - x[j * dim + t]) ** 2;
    return s;
  });
  const B = Math.max(64, Math.min(16384, n >> 2));
  const lo = row.reduce((a, b) => Math.min(a, b));
  let hi = lo;
  for (let i = 0; i < n; i += Math.max(1, n >> 10)) hi = Math.max(hi, row[i]);
  const members = new Int32Array(B),
    items = new Int32Array(B);
  for (let j = 0; j < n; j++) {
    const b = hi > lo ? Math.min(B - 1, Math.floor(((row[j] - lo) * B) / (hi - lo))) : 0;
    items[b]++;
    if (j !== q && labels[j] === labels[q]) members[b]++;
  }
  const b = members.indexOf(Math.max(...members));
  return { members: members[b], items: items[b] };
}

function same(a: ReturnType<typeof evaluateRetrieval>, b: ReturnType<typeof evaluateRetrieval>): void {
  expect(b.names).toEqual(a.names);
  for (const name of a.names) {
    const x = a.perQuery[name],
      y = b.perQuery[name];
    for (let q = 0; q < x.length; q++)
      if (!Object.is(x[q], y[q])) expect.fail(`${name} query ${q}: js ${x[q]}, native ${y[q]}`);
  }
  expect(b.mean).toEqual(a.mean);
}

// [label, layout, n, how select.h ranks the members of query 0's most crowded bucket in float32]
const layouts: [string, Layout, number, 'std::sort' | 'radix sort'][] = [
  ['one bucket per class of 100', 'line', 1000, 'std::sort'],
  ['the whole gallery in one bucket beside an outlier', 'outlier', 1200, 'radix sort'],
  ['every distance equal', 'equal', 900, 'radix sort'],
  ['8 distinct points: ~150 items at each distance, the query among them', 'grid', 1200, 'radix sort'],
  ['saturated softmax by inner product: distances -1 and -0', 'onehot', 1200, 'radix sort'],
];
const cases = layouts.flatMap(([label, layout, n, how]) =>
  (['f32', 'f64'] as const).map((precision) => [`${label} (${how}), ${precision}`, layout, n, how, precision] as const),
);

describe('native kernel = JS kernel on crowded buckets', () => {
  it.each(cases)('%s', (_l, layout, n, how, precision) => {
    const d = data(layout, n, n + 1);
    // the data crowd as meant: > 32 items sort the bucket, from 256 by radix (else the quadratic loop counts)
    const { members, items } = crowding(d, 0);
    expect(members).toBeGreaterThan(32);
    if (how === 'radix sort') expect(items).toBeGreaterThanOrEqual(256);
    else expect(items).toBeLessThan(256);
    const x = precision === 'f32' ? Float32Array.from(d.x) : d.x;
    const base: EvaluateOptions = { ks: [1, 2, 10, 100], computeAhp: 250, computeAp: true, innerProduct: d.ip };
    // AHP@250 on 2 threads in odd batches: the bucket selection; full AHP: the whole-row sort
    for (const opts of [
      { ...base, threads: 2, batchSize: 97 },
      { ...base, computeAhp: true },
    ] as EvaluateOptions[]) {
      const js = evaluateRetrieval(x, d.dim, d.labels, sims, { ...opts, kernel: 'js' });
      const nat = evaluateRetrieval(x, d.dim, d.labels, sims, { ...opts, kernel: 'native' });
      expect([js.kernel, nat.kernel]).toEqual(['js', 'native']);
      expect(nat.precision).toBe(precision === 'f32' ? 'float32' : 'float64');
      same(js, nat);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@semembed/formats';
import { BucketSelector, faissAvailable, loadFaiss, RowRanker, Searcher } from '../src/index.js';

// FAISS is this package's engine: it must load wherever the install step built it (always, in this project's
// CI and dev machines). Set SEMEMBED_ALLOW_NO_FAISS=1 only on a machine without libfaiss-dev.
describe('FAISS', () => {
  it('loads (no silent fallback to the exact JS engine)', () => {
    if (process.env.SEMEMBED_ALLOW_NO_FAISS === '1') return;
    expect(loadFaiss().error).toBeUndefined();
    expect(faissAvailable()).toBe(true);
    const s = new Searcher(new Float32Array([0, 0, 1, 1, 3, 3]), 2);
    expect(s.engine).toBe('faiss');
  });
});

const rng = mulberry32;

// The blocking rule both kernels follow (src/blas-calls.ts): a block is cut from its first row into calls of
// rowsPerCall rows, so each call's rows come out as that call alone gives them, whatever the CPU's BLAS kernel.
describe('faiss-node distanceRows(xq, out, rowsPerCall)', () => {
  const r = rng(5);
  // dim 12: OpenBLAS's Haswell/Zen sgemm gives these rows other bits in one 300-row call than in 64-row calls
  const n = 300,
    dim = 12,
    R = 64;
  const x = Float32Array.from({ length: n * dim }, () => r());
  it.each([
    ['L2', 'IndexFlatL2'],
    ['inner product', 'IndexFlatIP'],
  ] as const)('%s: each call of R rows from the first row = that call alone', (_l, kind) => {
    const index = new (loadFaiss().module![kind])(dim);
    index.addFloat32(x);
    const blocked = index.distanceRows(x, new Float32Array(n * n), R);
    for (let r0 = 0; r0 < n; r0 += R) {
      const r1 = Math.min(n, r0 + R);
      const alone = index.distanceRows(x.subarray(r0 * dim, r1 * dim), new Float32Array((r1 - r0) * n), R);
      expect(blocked.subarray(r0 * n, r1 * n)).toEqual(alone);
    }
    // and they are the distances: row 5, item 9
    let want = 0;
    for (let t = 0; t < dim; t++)
      want += kind === 'IndexFlatL2' ? (x[5 * dim + t] - x[9 * dim + t]) ** 2 : x[5 * dim + t] * x[9 * dim + t];
    expect(blocked[5 * n + 9]).toBeCloseTo(want, 5);
    expect(new Searcher(x, dim).blasRows).toBe(256);
    expect(() => index.distanceRows(x, new Float32Array(n * n), 0)).toThrow(/rowsPerCall must be a positive integer/);
  });
});

function fullRankings(s: Searcher, x: Float32Array | Float64Array): Int32Array[] {
  const n = s.n;
  const rows = s.distanceRows(s.prepareQueries(x));
  const ranker = new RowRanker(n);
  return Array.from({ length: n }, (_, q) => {
    ranker.load(rows.subarray(q * n, (q + 1) * n));
    return ranker.top(n);
  });
}

describe('FAISS and the exact engine rank alike', () => {
  it('integer features (exact distances, ties broken by index in both)', () => {
    const r = rng(1);
    const n = 400,
      dim = 6;
    const x = Float32Array.from({ length: n * dim }, () => Math.floor(r() * 6));
    const a = fullRankings(new Searcher(x, dim, { engine: 'faiss' }), x);
    const b = fullRankings(new Searcher(Float64Array.from(x), dim, { engine: 'exact' }), Float64Array.from(x));
    expect(a).toEqual(b);
    // ties exist here and are ordered by index: the query itself comes first among its exact duplicates
    const q = 0;
    const dupes = Array.from({ length: n }, (_, i) => i).filter((i) =>
      x.subarray(i * dim, i * dim + dim).every((v, t) => v === x[q * dim + t]),
    );
    expect(Array.from(a[q].subarray(0, dupes.length))).toEqual(dupes);
  });

  it.each([false, true])(
    'gaussian features, normalize=%s: identical wherever distances are not float32 near-ties',
    (normalize) => {
      const r = rng(7);
      const n = 300,
        dim = 12;
      const x = Float64Array.from({ length: n * dim }, () => r() * 2 - 1 + (r() - 0.5));
      const exact = new Searcher(x, dim, { engine: 'exact', normalize });
      const a = fullRankings(
        new Searcher(Float32Array.from(x), dim, { engine: 'faiss', normalize }),
        Float32Array.from(x),
      );
      const b = fullRankings(exact, x);
      const d = exact.distanceRows(exact.prepareQueries(x));
      let differing = 0,
        compared = 0;
      for (let q = 0; q < n; q++)
        for (let i = 0; i < n; i++) {
          compared++;
          if (a[q][i] !== b[q][i]) {
            differing++;
            // a swap is only allowed between items whose float64 distances agree to float32 precision
            expect(Math.abs(d[q * n + a[q][i]] - d[q * n + b[q][i]])).toBeLessThan(1e-5);
          }
        }
      expect(compared).toBe(n * n);
      expect(differing / compared).toBeLessThan(0.01);
    },
  );
});

describe('RowRanker', () => {
  it('top-m equals the first m of a stable full sort, and ranksOf counts positions without the query', () => {
    const r = rng(3);
    const n = 1000;
    const row = Float32Array.from({ length: n }, () => Math.floor(r() * 50) / 7);
    const ranker = new RowRanker(n);
    ranker.load(row);
    const stable = Array.from({ length: n }, (_, i) => i).sort((p, q) => row[p] - row[q] || p - q);
    expect(Array.from(ranker.top(37))).toEqual(stable.slice(0, 37));
    expect(Array.from(ranker.top(n))).toEqual(stable);
    const qid = stable[5];
    const relevant = [stable[0], stable[9], stable[400], stable[999]];
    const labels = new Int32Array(n);
    for (const i of [...relevant, qid]) labels[i] = 1;
    const members = Int32Array.from([...relevant, qid].sort((p, q) => p - q));
    expect(Array.from(ranker.ranksOf(members, qid, labels, 1))).toEqual([0, 8, 399, 998]);
  });
});

describe('BucketSelector.scan (the path used for every row when the ranking is clipped)', () => {
  it('equals load + top + ranksOf, with ties', () => {
    const r = rng(11);
    const n = 2000;
    const ranker = new RowRanker(n);
    for (let trial = 0; trial < 20; trial++) {
      const row = Float32Array.from({ length: n }, () => Math.floor(r() * 300) / 3 - 20);
      row[17] = -0; // ties with +0 as numpy does
      const labels = Int32Array.from({ length: n }, () => Math.floor(r() * 30));
      const qid = Math.floor(r() * n);
      const lbl = labels[qid];
      const members = Int32Array.from(Array.from({ length: n }, (_, i) => i).filter((i) => labels[i] === lbl));
      const m = 1 + Math.floor(r() * 300);
      ranker.load(row);
      const topA = ranker.top(m);
      const ranksA = ranker.ranksOf(members, qid, labels, lbl);
      const topB = new Int32Array(m);
      const ranksB = new BucketSelector(n).scan(row, m, topB, members, qid, labels, lbl)!;
      expect(topB).toEqual(topA);
      expect(ranksB).toEqual(ranksA);
      expect(ranksB.length).toBe(members.length - 1);
    }
  });
});

// The bucket selection must give exactly what RowRanker gives (top m with ties by index, AP member ranks).
import { describe, expect, it } from 'vitest';
import { BucketSelector, RowRanker } from '../src/index.js';

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

function check(row: Float32Array | Float64Array, labels: Int32Array, q: number, m: number): void {
  const n = row.length;
  const lbl = labels[q];
  const members = Int32Array.from(Array.from({ length: n }, (_, i) => i).filter((i) => labels[i] === lbl));
  const ref = new RowRanker(n);
  ref.load(row);
  const expTop = ref.top(m);
  const expRanks = ref.ranksOf(members, q, labels, lbl);
  const sel = new BucketSelector(n);
  const top = new Int32Array(m);
  const ranks = sel.scan(row, m, top, members, q, labels, lbl)!;
  expect(Array.from(top)).toEqual(Array.from(expTop));
  expect(Array.from(ranks)).toEqual(Array.from(expRanks));
  const top2 = new Int32Array(m);
  expect(sel.scan(row, m, top2)).toBeUndefined();
  expect(top2).toEqual(top);
}

describe('BucketSelector', () => {
  const r = rng(5);
  const n = 3000;
  const labels = Int32Array.from({ length: n }, () => Math.floor(r() * 30));
  it.each([1, 7, 251, 2999])('gaussian float32 and float64 rows, m = %i', (m) => {
    for (let t = 0; t < 5; t++) {
      const d = Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(r())) * Math.cos(6.283 * r()) * (t + 1));
      check(Float32Array.from(d), labels, t * 17, m);
      check(d, labels, t * 17, m);
    }
  });

  it('ties, signed zeros and a constant row', () => {
    const ints = Float32Array.from({ length: n }, () => Math.floor(r() * 5) - 2);
    for (let i = 0; i < n; i += 7) if (ints[i] === 0) ints[i] = -0;
    check(ints, labels, 3, 251);
    check(Float64Array.from(ints), labels, 3, 251);
    check(new Float32Array(n).fill(1.5), labels, 10, 100);
    // a skewed row: one far outlier puts nearly everything in the first bucket
    const skew = Float32Array.from({ length: n }, () => r());
    skew[42] = 1e30;
    check(skew, labels, 0, 251);
  });

  it('one selector reused across rows and queries (no state leaks between rows)', () => {
    const sel = new BucketSelector(n);
    const ref = new RowRanker(n);
    for (let t = 0; t < 12; t++) {
      const row = Float32Array.from({ length: n }, () => (t % 3 === 0 ? Math.floor(r() * 40) : r() * (t + 1)));
      const q = (t * 131) % n,
        lbl = labels[q];
      const members = Int32Array.from(Array.from({ length: n }, (_, i) => i).filter((i) => labels[i] === lbl));
      const m = [5, 251, 1000][t % 3];
      ref.load(row);
      const top = new Int32Array(m);
      const ranks = sel.scan(row, m, top, members, q, labels, lbl)!;
      expect(Array.from(top)).toEqual(Array.from(ref.top(m)));
      expect(Array.from(ranks)).toEqual(Array.from(ref.ranksOf(members, q, labels, lbl)));
    }
  });

  it('a class with the query only, and a query outside the top m', () => {
    const lab = Int32Array.from({ length: 200 }, (_, i) => (i === 0 ? 99 : i % 3));
    const row = Float32Array.from({ length: 200 }, (_, i) => (i === 5 ? 10 : i / 200));
    check(row, lab, 0, 20);
    check(row, lab, 5, 20);
  });
});

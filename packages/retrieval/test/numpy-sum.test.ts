// numpy's float64 summation, bit for bit: numpySum and the sparse form numpySumSparse (AP's sum) against
// np.sum of numpy 1.24 (/usr/bin/python3, the reference's numpy) on the same values, and averagePrecision against
// np.sum of its dense term vector. Values travel as JSON (shortest round-trip reprs: exact both ways).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { averagePrecision } from '../src/metrics.js';
import { numpySum, numpySumSparse } from '../src/numpy-sum.js';

function npSums(vectors: number[][]): number[] {
  const code =
    'import json, sys, numpy as np\nassert np.__version__.startswith("1.24"), np.__version__\n' +
    'print(json.dumps([float(np.array(v, dtype=np.float64).sum()) for v in json.load(sys.stdin)]))';
  const out = execFileSync('/usr/bin/python3', ['-c', code], { input: JSON.stringify(vectors) });
  return JSON.parse(out.toString()) as number[];
}

function gen(seed: number) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

// block edges (8192), pairwise leaves (8, 128) and their neighbours; densities from one value to all of them
const LENGTHS = [1, 5, 8, 9, 127, 128, 129, 1000, 8191, 8192, 8193, 9999, 20011];
const DENSITIES = [0.002, 0.1, 0.6, 1];

interface Sparse {
  length: number;
  pos: Int32Array;
  val: Float64Array;
  dense: number[];
}

function cases(): Sparse[] {
  const r = gen(17);
  const out: Sparse[] = [];
  for (const length of LENGTHS)
    for (const density of DENSITIES) {
      const pos: number[] = [],
        val: number[] = [];
      const dense = new Array<number>(length).fill(0);
      for (let i = 0; i < length; i++)
        if (r() < density) {
          // magnitudes far apart, so that another grouping of the additions rounds differently
          const v = (r() - 0.3) * 10 ** Math.floor(r() * 12 - 6);
          pos.push(i);
          val.push(v);
          dense[i] = v;
        }
      out.push({ length, pos: Int32Array.from(pos), val: Float64Array.from(val), dense });
    }
  return out;
}

describe('numpy summation', () => {
  const all = cases();
  const ref = npSums(all.map((c) => c.dense));

  it('numpySum and numpySumSparse equal np.sum bit for bit', () => {
    let plainDiffers = 0;
    all.forEach((c, i) => {
      const what = `length ${c.length}, ${c.pos.length} values`;
      expect(Object.is(numpySum(c.dense), ref[i]), `${what}: numpySum ${numpySum(c.dense)} vs ${ref[i]}`).toBe(true);
      const sparse = numpySumSparse(c.length, c.pos, c.val);
      expect(Object.is(sparse, ref[i]), `${what}: sparse ${sparse} vs ${ref[i]}`).toBe(true);
      // positions as doubles (any ArrayLike) give the same
      expect(Object.is(numpySumSparse(c.length, Float64Array.from(c.pos), c.val), ref[i])).toBe(true);
      let plain = 0;
      for (const v of c.dense) plain += v;
      if (plain !== ref[i]) plainDiffers++;
    });
    // the cases tell groupings apart: a left-to-right sum misses np.sum on some of them
    expect(plainDiffers).toBeGreaterThan(3);
  });

  it('averagePrecision is minus np.sum of its dense terms (sklearn 1.2.1 order), -0.0 without positives', () => {
    const r = gen(5);
    const dense: number[][] = [],
      ours: number[] = [];
    for (const N of [3, 8, 130, 8193, 9999])
      for (const density of [0.01, 0.1, 0.5]) {
        const ranks: number[] = [];
        for (let i = 0; i < N; i++) if (r() < density || (i === N - 1 && ranks.length === 0)) ranks.push(i);
        // the terms (recall step) * precision at array position N-1-i of ranked position i, zeros elsewhere
        const terms = new Array<number>(N).fill(0);
        ranks.forEach((i, k) => (terms[N - 1 - i] = (k / ranks.length - (k + 1) / ranks.length) * ((k + 1) / (i + 1))));
        dense.push(terms);
        ours.push(averagePrecision(Int32Array.from(ranks), N));
        // a plain array of ranks, and the scratch reused from a larger query, give the same
        expect(Object.is(averagePrecision(ranks, N), ours[ours.length - 1])).toBe(true);
      }
    const np = npSums(dense);
    ours.forEach((ap, i) => expect(Object.is(ap, -np[i]), `case ${i}: ${ap} vs ${-np[i]}`).toBe(true));
    expect(Object.is(averagePrecision([], 10), -0)).toBe(true);
  });
});

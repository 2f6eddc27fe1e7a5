// Bootstrap intervals and the paired test: exact cases by hand, and scipy.stats (bootstrap, permutation_test)
// on the same data within Monte-Carlo error.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bootstrapInterval, metricIntervals, pairedTest, quantileSorted } from '../src/index.js';

function sample(n: number, seed: number, shift = 0): Float64Array {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return Float64Array.from(
    { length: n },
    () => shift + Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd()),
  );
}

function scipy(code: string, input: unknown): any {
  const head = 'import json, sys, numpy as np, scipy.stats as st\nd = json.load(sys.stdin)\n';
  return JSON.parse(execFileSync('python3', ['-c', head + code], { input: JSON.stringify(input) }).toString());
}

describe('bootstrap intervals', () => {
  it('constant values: a zero-width interval at the value', () => {
    const iv = bootstrapInterval(new Float64Array(50).fill(0.25), { resamples: 200, seed: 1 });
    expect(iv).toEqual({ estimate: 0.25, lo: 0.25, hi: 0.25 });
  });

  it('quantiles as numpy (linear)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 15);
    expect(quantileSorted([1, 2, 3, 4], 0.975)).toBeCloseTo(3.925, 15);
  });

  it('the same seed gives the same interval; another seed a slightly different one', () => {
    const x = sample(300, 5);
    const a = bootstrapInterval(x, { resamples: 500, seed: 9 });
    expect(bootstrapInterval(x, { resamples: 500, seed: 9 })).toEqual(a);
    expect(bootstrapInterval(x, { resamples: 500, seed: 10 }).lo).not.toBe(a.lo);
  });

  it('matches scipy.stats.bootstrap (percentile) within Monte-Carlo error', () => {
    const x = sample(400, 7, 0.5);
    const ours = bootstrapInterval(x, { resamples: 4000, seed: 3 });
    const ref = scipy(
      "r = st.bootstrap((np.array(d),), np.mean, n_resamples=4000, method='percentile', random_state=0)\n" +
        'print(json.dumps([float(np.mean(d)), r.confidence_interval.low, r.confidence_interval.high]))',
      Array.from(x),
    );
    const width = ref[2] - ref[1];
    expect(ours.estimate).toBeCloseTo(ref[0], 12);
    expect(Math.abs(ours.lo - ref[1])).toBeLessThan(0.08 * width);
    expect(Math.abs(ours.hi - ref[2])).toBeLessThan(0.08 * width);
    // and the normal approximation: mean +- 1.96 sd / sqrt(n)
    expect(width).toBeGreaterThan(((0.9 * 2 * 1.96) / Math.sqrt(400)) * 0.9);
  });

  it('ratios leave out resamples without a denominator and average over the subset', () => {
    const num = Float64Array.from([2, 0, 4, 0]);
    const den = Float64Array.from([1, 0, 1, 0]);
    const iv = bootstrapInterval(num, { resamples: 300, seed: 2 }, den);
    expect(iv.estimate).toBe(3);
    expect(iv.lo).toBeGreaterThanOrEqual(2);
    expect(iv.hi).toBeLessThanOrEqual(4);
    const all = metricIntervals({ m: { num, den } }, ['m'], { resamples: 300, seed: 2 });
    expect(all.m).toEqual(iv);
    expect(() => metricIntervals({}, ['x'], { resamples: 3 })).toThrow(/metric x was not computed/);
  });

  it('rejects a bad number of resamples', () => {
    expect(() => bootstrapInterval([1], { resamples: 0 })).toThrow(/positive integer, got 0/);
  });
});

describe('paired test', () => {
  it('identical sets: difference 0, p = 1; a constant improvement: the smallest p', () => {
    const a = sample(40, 1);
    expect(pairedTest(a, a, { resamples: 999, seed: 1 }).p).toBe(1);
    const b = a.map((v) => v - 0.1);
    const t = pairedTest(a, b, { resamples: 999, seed: 1 });
    expect(t.difference).toBeCloseTo(0.1, 12);
    expect(t.p).toBe(1 / 1000);
    const worse = pairedTest(a, b, { resamples: 999, seed: 1, higherIsBetter: false });
    expect(worse.difference).toBeCloseTo(0.1, 12); // always mean(a) - mean(b); here a is the worse one
    expect(worse.p).toBe(1);
    expect(worse.lo).toBeLessThanOrEqual(worse.hi);
  });

  it('matches scipy.stats.permutation_test (paired samples, one-sided) within Monte-Carlo error', () => {
    const a = sample(30, 21, 0.35),
      b = sample(30, 22);
    const ours = pairedTest(a, b, { resamples: 20000, seed: 4 });
    const ref = scipy(
      'a, b = np.array(d[0]), np.array(d[1])\n' +
        "r = st.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type='samples', alternative='greater', n_resamples=20000, random_state=0)\n" +
        'print(json.dumps(r.pvalue))',
      [Array.from(a), Array.from(b)],
    );
    expect(ref).toBeGreaterThan(0.005);
    expect(Math.abs(ours.p - ref)).toBeLessThan(Math.max(0.01, 0.15 * ref));
  });
});

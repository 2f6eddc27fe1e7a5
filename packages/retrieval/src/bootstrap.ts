// Uncertainty of mean metrics over queries: percentile bootstrap confidence intervals (seeded, so a report can be
// reproduced) and a paired sign-flip randomisation test for two feature sets scored on the same queries.
import { RetrievalError } from './errors.js';

/** mulberry32: small, fast, seedable; plenty for resampling indices. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapOptions {
  /** Number of resamples (e.g. 1000). */
  resamples: number;
  seed?: number;
  /** Coverage of the interval; default 0.95. */
  level?: number;
}

export interface Interval {
  /** The statistic on the original sample. */
  estimate: number;
  lo: number;
  hi: number;
}

/** numpy's default (linear) quantile of ascending values. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = q * (n - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < n ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

function checkOptions(o: BootstrapOptions, n: number): void {
  if (!Number.isInteger(o.resamples) || o.resamples < 1)
    throw new RetrievalError(`bootstrap: the number of resamples must be a positive integer, got ${o.resamples}`);
  if (n < 1) throw new RetrievalError('bootstrap: no values to resample');
}

/**
 * Percentile bootstrap interval of a ratio of sums, sum(num) / sum(den), resampling items with replacement
 * (den omitted: the plain mean). Ratios cover metrics averaged over a subset that varies per resample, e.g.
 * mistake severity (LCS heights summed over mistakes / number of mistakes); resamples with sum(den) = 0 are left out.
 * The same seed gives the same resamples for every metric of a set of queries.
 */
export function bootstrapInterval(
  num: ArrayLike<number>,
  options: BootstrapOptions,
  den?: ArrayLike<number>,
): Interval {
  const n = num.length;
  checkOptions(options, n);
  if (den && den.length !== n) throw new RetrievalError(`bootstrap: ${n} values but ${den.length} weights`);
  const rnd = seededRandom(options.seed ?? 0);
  const stats = new Float64Array(options.resamples);
  let kept = 0;
  for (let b = 0; b < options.resamples; b++) {
    let s = 0,
      d = 0;
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rnd() * n);
      s += num[j];
      d += den ? den[j] : 1;
    }
    if (d > 0) stats[kept++] = s / d;
  }
  let s = 0,
    d = 0;
  for (let i = 0; i < n; i++) {
    s += num[i];
    d += den ? den[i] : 1;
  }
  const sorted = stats.subarray(0, kept).sort();
  const alpha = (1 - (options.level ?? 0.95)) / 2;
  return { estimate: d > 0 ? s / d : NaN, lo: quantileSorted(sorted, alpha), hi: quantileSorted(sorted, 1 - alpha) };
}

export interface PairedTest {
  /** mean(a) - mean(b) */
  difference: number;
  /** bootstrap interval of the difference (same resamples for both sets: the queries are paired) */
  lo: number;
  hi: number;
  /**
   * One-sided p-value of "a is better than b" under the null that a and b are exchangeable per query:
   * (1 + #{sign-flipped mean difference >= observed}) / (1 + resamples), direction set by higherIsBetter.
   */
  p: number;
}

/** Paired comparison of two per-query metric vectors of the same queries. */
export function pairedTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: BootstrapOptions & { higherIsBetter?: boolean },
): PairedTest {
  const n = a.length;
  if (b.length !== n) throw new RetrievalError(`paired test: ${n} queries in one set, ${b.length} in the other`);
  checkOptions(options, n);
  const sign = options.higherIsBetter === false ? -1 : 1;
  const d = Float64Array.from({ length: n }, (_, i) => sign * (a[i] - b[i]));
  const ci = bootstrapInterval(d, options);
  let observed = 0;
  for (let i = 0; i < n; i++) observed += d[i];
  const rnd = seededRandom((options.seed ?? 0) ^ 0x5bd1e995);
  let atLeast = 0;
  for (let r = 0; r < options.resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rnd() < 0.5 ? -d[i] : d[i];
    // relative slack: sums in another order may differ by rounding when the flips reproduce the sample
    if (s >= observed - 1e-12 * Math.abs(observed)) atLeast++;
  }
  const lo = sign * (sign > 0 ? ci.lo : ci.hi),
    hi = sign * (sign > 0 ? ci.hi : ci.lo);
  return { difference: sign * ci.estimate, lo, hi, p: (1 + atLeast) / (1 + options.resamples) };
}

/** Per-item metric values, as ratios of sums where `den` is given (see bootstrapInterval). */
export type PerItem = Record<string, { num: ArrayLike<number>; den?: ArrayLike<number> }>;

/** Retrieval's perQuery record as PerItem (plain means). */
export function perItem(perQuery: Record<string, ArrayLike<number>>): PerItem {
  return Object.fromEntries(Object.entries(perQuery).map(([k, v]) => [k, { num: v }]));
}

/** Bootstrap intervals of the named metrics, all over the same resamples (one seed). */
export function metricIntervals(values: PerItem, names: string[], options: BootstrapOptions): Record<string, Interval> {
  const out: Record<string, Interval> = {};
  for (const name of names) {
    const v = values[name];
    if (!v) throw new RetrievalError(`bootstrap: metric ${name} was not computed`);
    out[name] = bootstrapInterval(v.num, options, v.den);
  }
  return out;
}

/** `0.9321 [0.9300, 0.9342]` */
export function formatInterval(iv: Interval, digits = 4): string {
  return `${iv.estimate.toFixed(digits)} [${iv.lo.toFixed(digits)}, ${iv.hi.toFixed(digits)}]`;
}

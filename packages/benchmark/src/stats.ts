// Order statistics for latencies and repeats. Percentiles by the nearest-rank method (MLPerf LoadGen's).
import type { Summary } from './types.js';

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function summarize(runs: readonly number[]): Summary {
  const med = median(runs);
  const min = Math.min(...runs);
  const max = Math.max(...runs);
  return { min, median: med, max, spread: med > 0 ? (max - min) / med : 0, runs: [...runs] };
}

/** Runs varying by more than this (relative to the median) get a noise warning. */
export const NOISE_THRESHOLD = 0.1;

export function noiseWarning(what: string, s: Summary): string | undefined {
  if (s.runs.length < 2 || s.spread <= NOISE_THRESHOLD) return undefined;
  const pct = (s.spread * 100).toFixed(0);
  return `${what}: repeats vary by ${pct}% (min ${fmt(s.min)}, max ${fmt(s.max)}): noisy machine`;
}

export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(2);
}

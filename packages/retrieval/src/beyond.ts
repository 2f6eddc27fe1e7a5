// Evaluation beyond the reference, assembled for the CLI and the main job's report: the mistake metrics of a
// classifier and of its CRM decisions, bootstrap intervals of every mean, paired tests between two feature sets,
// and their console / markdown tables.
import {
  BootstrapBatch,
  formatInterval,
  metricIntervals,
  pairedDifference,
  perItem,
  queueMetricIntervals,
  type BootstrapOptions,
  type Interval,
  type PerItem,
} from './bootstrap.js';
import { RetrievalError } from './errors.js';
import { crmRank, mistakeMetrics, type MistakeResult } from './mistakes.js';
import { rankClasses } from './classification.js';
import type { Features } from './search.js';

/** Cut-offs of nDCG@k / LCS height@k reported by default: 1, 10, 50, 100 and K of AHP@K, up to maxK. */
export function defaultGradedKs(maxK: number, clip?: number): number[] {
  const ks = [1, 10, 50, 100, ...(clip ? [clip] : [])].filter((k) => k <= maxK);
  return [...new Set(ks)].sort((a, b) => a - b);
}

/** Cut-offs of hierarchical distance @k as in Karthik et al.: 1, 5, 20 (those <= the number of classes). */
export function defaultDistanceKs(numClasses: number): number[] {
  return [1, 5, 20].filter((k) => k <= numClasses);
}

export interface ClassifierMistakes {
  plain: MistakeResult;
  /** CRM decisions (probabilities only). */
  crm?: MistakeResult;
}

/**
 * Mistake metrics of probability outputs (n x C, columns = classes of `levels`) ranked by score, and of the CRM
 * decisions on the same outputs; truth: the true column per sample.
 */
export function probabilityMistakes(
  prob: Features,
  C: number,
  truth: Int32Array,
  levels: Int32Array,
  ks = defaultDistanceKs(C),
): ClassifierMistakes {
  const kmax = Math.max(1, ...ks);
  const plain = rankClasses(prob, C, { kind: 'prob' }, kmax);
  const crm = crmRank(prob, C, levels, kmax);
  return {
    plain: mistakeMetrics(plain.ranked, plain.k, truth, levels, ks),
    crm: mistakeMetrics(crm.ranked, crm.k, truth, levels, ks),
  };
}

/** Intervals of every mistake metric (ratio metrics resampled as ratios). */
export function mistakeIntervals(m: MistakeResult, options: BootstrapOptions): Record<string, Interval> {
  return metricIntervals(m.perSample as PerItem, m.names, options);
}

/** mistakeIntervals on a batch; the returned function reads them after batch.run(). */
export function queueMistakeIntervals(batch: BootstrapBatch, m: MistakeResult): () => Record<string, Interval> {
  return queueMetricIntervals(batch, m.perSample as PerItem, m.names);
}

/** Intervals of the named retrieval metrics (means over queries). */
export function retrievalIntervals(
  perQuery: Record<string, Float64Array>,
  names: string[],
  options: BootstrapOptions,
): Record<string, Interval> {
  return metricIntervals(perItem(perQuery), names, options);
}

/** retrievalIntervals on a batch; the returned function reads them after batch.run(). */
export function queueRetrievalIntervals(
  batch: BootstrapBatch,
  perQuery: Record<string, Float64Array>,
  names: string[],
): () => Record<string, Interval> {
  return queueMetricIntervals(batch, perItem(perQuery), names);
}

/** Lower is better for these (errors and LCS heights); higher for every other metric. */
export function lowerIsBetter(metric: string): boolean {
  return /Error|Severity|Distance|LCS height/.test(metric);
}

export interface Comparison {
  metric: string;
  better: string;
  worse: string;
  difference: number;
  lo: number;
  hi: number;
  p: number;
}

export interface ComparedSet {
  label: string;
  perQuery: Record<string, ArrayLike<number>>;
}

/**
 * Paired tests of two feature sets on the same queries, one per metric: which one is better, the difference
 * (better minus worse) with its bootstrap interval, and the one-sided p-value of "better beats worse".
 */
export function compareSets(
  a: ComparedSet,
  b: ComparedSet,
  metrics: string[],
  options: BootstrapOptions,
): Comparison[] {
  const batch = new BootstrapBatch(options);
  const result = queueComparisons(batch, a, b, metrics);
  batch.run();
  return result();
}

/**
 * compareSets on a batch (all metrics over the same resamples and sign flips): the better set of each metric is
 * known from the mean difference alone, so only its test is queued; the returned function reads the tests after
 * batch.run().
 */
export function queueComparisons(
  batch: BootstrapBatch,
  a: ComparedSet,
  b: ComparedSet,
  metrics: string[],
): () => Comparison[] {
  const queued = metrics.map((metric) => {
    const va = a.perQuery[metric],
      vb = b.perQuery[metric];
    if (!va || !vb) throw new RetrievalError(`paired test: metric ${metric} is missing in ${(va ? b : a).label}`);
    const higherIsBetter = !lowerIsBetter(metric);
    const diff = pairedDifference(va, vb, higherIsBetter);
    const aBetter = higherIsBetter ? diff >= 0 : diff <= 0;
    const [better, worse] = aBetter ? [a, b] : [b, a];
    const id = batch.paired(better.perQuery[metric], worse.perQuery[metric], higherIsBetter);
    return { metric, better: better.label, worse: worse.label, id };
  });
  return () =>
    queued.map(({ metric, better, worse, id }) => {
      const t = batch.pairedOf(id);
      return { metric, better, worse, difference: t.difference, lo: t.lo, hi: t.hi, p: t.p };
    });
}

/** "semantic beats baseline on AP: +0.0123 [0.0101, 0.0145], p = 0.001" */
export function formatComparison(c: Comparison): string {
  const sign = c.difference >= 0 ? '+' : '';
  const ci = `[${c.lo.toFixed(4)}, ${c.hi.toFixed(4)}]`;
  return `${c.better} beats ${c.worse} on ${c.metric}: ${sign}${c.difference.toFixed(4)} ${ci}, p = ${formatP(c.p)}`;
}

export function formatP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

/** Console table: one row per set, `estimate [lo, hi]` (or the plain value without intervals) per metric. */
export function formatIntervalTable(
  rows: Map<string, Record<string, Interval | number>>,
  metrics: string[],
  digits = 4,
): string {
  const cell = (v: Interval | number | undefined) =>
    v === undefined ? '–' : typeof v === 'number' ? v.toFixed(digits) : formatInterval(v, digits);
  const width = Math.max(...[...rows.keys()].map((l) => l.length));
  const cols = metrics.map((m) => Math.max(m.length, ...[...rows.values()].map((r) => cell(r[m]).length)));
  const lines = ['', [' '.repeat(width), ...metrics.map((m, i) => m.padEnd(cols[i]))].join(' | ')];
  lines.push('-'.repeat(width + cols.reduce((s, c) => s + 3 + c, 0)));
  for (const [label, r] of rows)
    lines.push([label.padEnd(width), ...metrics.map((m, i) => cell(r[m]).padStart(cols[i]))].join(' | '));
  return lines.join('\n') + '\n\n';
}

/** The same as a markdown table. */
export function markdownIntervalTable(
  rows: Map<string, Record<string, Interval | number>>,
  metrics: string[],
  first = 'features',
  digits = 4,
): string {
  const cell = (v: Interval | number | undefined) =>
    v === undefined ? '–' : typeof v === 'number' ? v.toFixed(digits) : formatInterval(v, digits);
  let md = `| ${first} | ${metrics.join(' | ')} |\n|${'---|'.repeat(metrics.length + 1)}\n`;
  for (const [label, r] of rows) md += `| ${label} | ${metrics.map((m) => cell(r[m])).join(' | ')} |\n`;
  return md;
}

// The "beyond the reference" part of a report (the main job's README): retrieval metrics with bootstrap intervals,
// retrieval ranked by expected class similarity, mistake severity / hierarchical distance of the softmax and of its
// CRM decisions, paired tests between the first two feature sets, and the mistake-severity vs top-1-error plot.
import { join } from 'node:path';
import { evaluateRetrieval, type EvaluateResult, type Similarities } from './evaluate.js';
import { expectedSimilarityQueries, lcsLevels } from './mistakes.js';
import {
  formatComparison,
  markdownIntervalTable,
  probabilityMistakes,
  queueComparisons,
  queueMistakeIntervals,
  queueRetrievalIntervals,
  type Comparison,
} from './beyond.js';
import { BootstrapBatch, type BootstrapOptions, type Interval } from './bootstrap.js';
import { mistakeSeveritySpec, type MistakePoint } from './mistake-plot.js';
import { writePlot } from './plots.js';

export interface BeyondSet {
  label: string;
  /** Retrieval of the set's features, evaluated with `graded` (e.g. defaultGradedKs) and AHP@clip. */
  retrieval: EvaluateResult;
  /** Softmax outputs, n x C in class order. */
  probs: { data: Float32Array | Float64Array; dim: number };
}

export interface BeyondInput {
  sets: BeyondSet[];
  labels: Int32Array;
  sims: Similarities;
  maxHeight: number;
  /** K of AHP@K. */
  clip: number;
  bootstrap: BootstrapOptions;
  /** Folder for mistake-severity.{svg,png}. */
  outDir: string;
}

export interface BeyondOutput {
  markdown: string;
  json: Record<string, unknown>;
  plots: string[];
}

const iv = (r: Record<string, Interval>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { ...v }]));

/** Metric names of the retrieval section. */
export function beyondRetrievalMetrics(clip: number, gradedKs: number[]): string[] {
  const graded = [...gradedKs.map((k) => `nDCG@${k} (LCS_HEIGHT)`), ...gradedKs.map((k) => `LCS height@${k}`)];
  return [`AHP@${clip} (LCS_HEIGHT)`, 'AP', ...graded];
}

export async function beyondReport(input: BeyondInput): Promise<BeyondOutput> {
  const { sets, labels, sims, maxHeight, clip, bootstrap } = input;
  const C = Math.round(Math.sqrt(sims.LCS_HEIGHT.length));
  const levels = lcsLevels(sims.LCS_HEIGHT, maxHeight);
  // the cut-offs the sets were evaluated with (nDCG@k names), 10 and above
  const names = sets[0]?.retrieval.names ?? [];
  const gradedKs = names
    .flatMap((m) => /^nDCG@(\d+) /.exec(m)?.[1] ?? [])
    .map(Number)
    .filter((k) => k >= 10);
  const rMetrics = beyondRetrievalMetrics(clip, gradedKs);
  // every interval and test of the report over one draw of the resamples (they share the seed and the test images)
  const batch = new BootstrapBatch(bootstrap);
  const rRowsQueued: [string, () => Record<string, Interval>][] = [];
  const cRowsQueued: [string, () => Record<string, Interval>][] = [];
  const perSample = new Map<string, Record<string, ArrayLike<number>>>();
  let cMetrics: string[] = [];
  for (const s of sets) {
    rRowsQueued.push([s.label, queueRetrievalIntervals(batch, s.retrieval.perQuery, rMetrics)]);
    // the softmax ranked by expected similarity p_q^T S p_g (inner product of S p_q and p_g)
    const e = evaluateRetrieval(s.probs.data, s.probs.dim, labels, sims, {
      ks: [1],
      computeAhp: clip,
      computeAp: true,
      graded: { ks: gradedKs, maxHeight },
      queries: expectedSimilarityQueries(s.probs.data, C, sims.LCS_HEIGHT),
      innerProduct: true,
    });
    rRowsQueued.push([
      `${s.label}, softmax by expected similarity`,
      queueRetrievalIntervals(batch, e.perQuery, rMetrics),
    ]);
    const m = probabilityMistakes(s.probs.data, C, labels, levels);
    cMetrics = m.plain.names;
    for (const [how, res] of [
      ['softmax', m.plain],
      ['softmax + CRM', m.crm!],
    ] as const) {
      const label = `${s.label}, ${how}`;
      cRowsQueued.push([label, queueMistakeIntervals(batch, res)]);
      perSample.set(label, Object.fromEntries(Object.entries(res.perSample).map(([k, v]) => [k, v.num])));
    }
  }
  const tests: (() => Comparison[])[] = [];
  const samples = (label: string) => ({ label, perQuery: perSample.get(label)! });
  if (sets.length >= 2) {
    const [a, b] = sets;
    const ra = { label: a.label, perQuery: a.retrieval.perQuery };
    tests.push(queueComparisons(batch, ra, { label: b.label, perQuery: b.retrieval.perQuery }, rMetrics));
    // per-sample metrics only (mistake severity averages over a different subset per model)
    const paired = cMetrics.filter((x) => x !== 'Mistake Severity');
    const la = `${a.label}, softmax`,
      lb = `${b.label}, softmax`;
    tests.push(queueComparisons(batch, samples(la), samples(lb), paired));
  }
  for (const s of sets) {
    const la = `${s.label}, softmax + CRM`,
      lb = `${s.label}, softmax`;
    const hd5 = ['Hier. Distance@5'].filter((x) => cMetrics.includes(x));
    tests.push(queueComparisons(batch, samples(la), samples(lb), hd5));
  }
  batch.run();
  const rows = (queued: [string, () => Record<string, Interval>][]) =>
    new Map(queued.map(([label, result]) => [label, result()]));
  const rRows = rows(rRowsQueued),
    cRows = rows(cRowsQueued);
  const points: MistakePoint[] = cRowsQueued.map(([label, result]) => {
    const ci = result();
    return { label, error: ci['Top-1 Error'], severity: ci['Mistake Severity'] };
  });
  const comparisons = tests.flatMap((t) => t());
  const plot = await writePlot(mistakeSeveritySpec(points), join(input.outDir, 'mistake-severity'));
  const level = Math.round(100 * (bootstrap.level ?? 0.95));
  const seed = bootstrap.seed ?? 0;
  const ci = `${level}% bootstrap intervals over the test images (${bootstrap.resamples} resamples, seed ${seed})`;
  let md = `## Beyond the reference\n\n`;
  md += `Every value with its ${ci}. Retrieval: nDCG@k with the class similarity `;
  md += `(1 − LCS height / tree height) as the gain, mean LCS height (tree levels) of the top k; "softmax by `;
  md += `expected similarity" ranks the gallery by pᵀ·S·p′ of the softmax outputs. Classification `;
  md += `(Bertinetto et al., CVPR 2020): top-1 error, mistake severity = mean LCS height of the misclassified images, hierarchical `;
  md += `distance @k = mean LCS height of the k top predictions; CRM (Karthik et al., ICLR 2021) picks the class of `;
  md += `least expected LCS height under the softmax, without retraining.\n\n`;
  md += `### Retrieval\n\n${markdownIntervalTable(rRows, rMetrics)}\n`;
  md += `### Classification mistakes\n\n${markdownIntervalTable(cRows, cMetrics, 'model, decision')}\n`;
  md += `![mistake severity vs top-1 error](mistake-severity.png)\n\n`;
  if (comparisons.length) {
    md += `### Paired tests (same test images; one-sided sign-flip test, ${bootstrap.resamples} resamples)\n\n`;
    for (const c of comparisons) md += `- ${formatComparison(c)}\n`;
    md += '\n';
  }
  const json = {
    bootstrap: { resamples: bootstrap.resamples, seed: bootstrap.seed ?? 0, level: bootstrap.level ?? 0.95 },
    retrieval: Object.fromEntries([...rRows].map(([k, v]) => [k, iv(v)])),
    classification: Object.fromEntries([...cRows].map(([k, v]) => [k, iv(v)])),
    comparisons,
  };
  return { markdown: md, json, plots: [plot.svg, plot.png] };
}

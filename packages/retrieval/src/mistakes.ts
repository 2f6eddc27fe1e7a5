// How bad the mistakes are, as the hierarchical-classification literature measures it:
// Bertinetto et al., "Making Better Mistakes" (CVPR 2020): top-1 error, mistake severity (mean height of the LCS
// of prediction and truth over the misclassified samples) and hierarchical distance @k (mean LCS height between the
// truth and each of the k top predictions, correct ones included); heights are in tree levels (integers), as in
// their public code. Karthik et al., "No Cost Likelihood Manipulation at Test Time for Making Better Mistakes"
// (ICLR 2021): conditional risk minimisation (CRM) ranks the classes by expected LCS height under the softmax.
import { RetrievalError } from './errors.js';
import type { Features } from './search.js';

/**
 * Integer LCS heights (tree levels) from an LCS_HEIGHT similarity matrix (1 - height/maxHeight, C x C):
 * round((1 - s) * maxHeight) recovers the integers exactly.
 */
export function lcsLevels(lcsSimilarity: Float64Array, maxHeight: number): Int32Array {
  if (!(Number.isInteger(maxHeight) && maxHeight > 0))
    throw new RetrievalError(`maxHeight must be a positive integer, got ${maxHeight}`);
  return Int32Array.from(lcsSimilarity, (s) => Math.round((1 - s) * maxHeight));
}

/** Names of the mistake metrics for the given k of hierarchical distance. */
export function mistakeMetricNames(ks: number[]): string[] {
  return ['Top-1 Error', 'Mistake Severity', ...ks.map((k) => `Hier. Distance@${k}`)];
}

export interface MistakeResult {
  names: string[];
  mean: Record<string, number>;
  /**
   * Per sample, the numerator of each metric; `den` where the metric averages over a subset (mistake severity:
   * 1 for a mistake, 0 else). mean = sum(num) / sum(den) (den = 1 when absent).
   */
  perSample: Record<string, { num: Float64Array; den?: Float64Array }>;
}

/**
 * ranked: n x k predicted class columns (best first, e.g. rankClasses or crmRank), truth: the true column per
 * sample, levels: C x C integer LCS heights between columns, ks: cut-offs of hierarchical distance (each <= k).
 */
export function mistakeMetrics(
  ranked: Int32Array,
  k: number,
  truth: Int32Array,
  levels: Int32Array,
  ks: number[],
): MistakeResult {
  const n = truth.length;
  const C = Math.round(Math.sqrt(levels.length));
  if (C * C !== levels.length) throw new RetrievalError('the LCS height matrix must be square');
  if (ranked.length !== n * k) throw new RetrievalError(`${ranked.length / k} predictions but ${n} labels`);
  for (const kk of ks)
    if (!Number.isInteger(kk) || kk < 1 || kk > k)
      throw new RetrievalError(`hierarchical distance @${kk}: k must be 1..${k}`);
  const names = mistakeMetricNames(ks);
  const err = new Float64Array(n),
    sev = new Float64Array(n),
    isMistake = new Float64Array(n);
  const hd = ks.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const t = truth[i];
    if (!(t >= 0 && t < C)) throw new RetrievalError(`label column ${t} (row ${i}) is outside 0..${C - 1}`);
    const top = ranked[i * k];
    if (top !== t) {
      err[i] = 1;
      isMistake[i] = 1;
      sev[i] = levels[t * C + top];
    }
    let acc = 0,
      j = 0;
    ks.forEach((kk, s) => {
      for (; j < kk; j++) acc += levels[t * C + ranked[i * k + j]];
      hd[s][i] = acc / kk;
    });
  }
  const perSample: MistakeResult['perSample'] = {
    'Top-1 Error': { num: err },
    'Mistake Severity': { num: sev, den: isMistake },
  };
  ks.forEach((kk, s) => (perSample[`Hier. Distance@${kk}`] = { num: hd[s] }));
  const mean: Record<string, number> = {};
  for (const name of names) {
    const { num, den } = perSample[name];
    let a = 0,
      b = 0;
    for (let i = 0; i < n; i++) {
      a += num[i];
      b += den ? den[i] : 1;
    }
    mean[name] = b > 0 ? a / b : NaN;
  }
  return { names, mean, perSample };
}

/**
 * CRM: classes ranked by expected cost sum_j p_j * levels[j][c] (the diagonal counted as 0: a correct decision
 * costs nothing), ascending, ties to the lower column (as heapq.nlargest over the negated costs). prob: n x C.
 */
export function crmRank(
  prob: Features,
  C: number,
  levels: Int32Array,
  topK: number,
): { ranked: Int32Array; k: number } {
  if (levels.length !== C * C)
    throw new RetrievalError(`${C} probability columns but a ${Math.sqrt(levels.length)}-class LCS height matrix`);
  const n = prob.length / C;
  const k = Math.min(topK, C);
  const ranked = new Int32Array(n * k);
  const cost = new Float64Array(C);
  const order = new Int32Array(C);
  for (let i = 0; i < n; i++) {
    cost.fill(0);
    for (let j = 0; j < C; j++) {
      const p = prob[i * C + j];
      if (p === 0) continue;
      for (let c = 0; c < C; c++) if (c !== j) cost[c] += p * levels[j * C + c];
    }
    for (let c = 0; c < C; c++) order[c] = c;
    order.sort((a, b) => cost[a] - cost[b] || a - b);
    ranked.set(order.subarray(0, k), i * k);
  }
  return { ranked, k };
}

/**
 * Queries for retrieval by expected class similarity: ranking gallery rows g by p_q^T S p_g is an inner-product
 * search of q' = S p_q (S symmetric) against the probabilities p_g. prob: n x C, sim: C x C.
 */
export function expectedSimilarityQueries(prob: Features, C: number, sim: Float64Array): Float64Array {
  if (sim.length !== C * C)
    throw new RetrievalError(`${C} probability columns but a ${Math.sqrt(sim.length)}-class similarity matrix`);
  const n = prob.length / C;
  const out = new Float64Array(n * C);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < C; j++) {
      const p = prob[i * C + j];
      if (p === 0) continue;
      for (let c = 0; c < C; c++) out[i * C + c] += p * sim[j * C + c];
    }
  return out;
}

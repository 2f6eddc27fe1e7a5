// Retrieval evaluation driver: every sample queries all others (the reference's evaluate_retrieval), distance
// rows are produced in query batches (never an n x n matrix), each row is ranked and scored.
import { HierarchicalPrecision, rankingDepth, type MetricOptions, type MetricResults, type PrecisionKind } from './metrics.js';
import { RowRanker } from './ranking.js';
import { Searcher, type Features, type SearcherOptions } from './search.js';
import { RetrievalError } from './errors.js';
import { GradedRetrieval, type GradedOptions } from './graded.js';

export interface EvaluateOptions extends MetricOptions, SearcherOptions {
  /** nDCG@k and LCS height@k beside the reference's metrics. */
  graded?: GradedOptions;
  /**
   * Query vectors in gallery order when they differ from the gallery rows (query q is still gallery item q and is
   * removed from its own ranking), e.g. expectedSimilarityQueries() with innerProduct.
   */
  queries?: Features;
  /** Queries per distance batch; default: about 64 MB of distances. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluateResult extends MetricResults {
  engine: 'faiss' | 'exact';
  /** Precision of the distances: float32 (FAISS) or float64 (exact engine). */
  precision: 'float32' | 'float64';
  seconds: number;
}

/** Class similarity matrices (numClasses x numClasses, row-major) indexed by the label values. */
export type Similarities = Record<PrecisionKind, Float64Array>;

function membersByClass(labels: Int32Array, numClasses: number): Int32Array[] {
  const counts = new Int32Array(numClasses);
  for (const l of labels) counts[l]++;
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) out[labels[i]][fill[labels[i]]++] = i;
  return out;
}

function checkInputs(n: number, labels: Int32Array, sims: Similarities): number {
  const C = Math.round(Math.sqrt(sims.WUP.length));
  if (labels.length !== n) throw new RetrievalError(`${n} feature rows but ${labels.length} labels`);
  if (n < 2) throw new RetrievalError(`retrieval needs at least 2 samples, got ${n}`);
  for (let i = 0; i < n; i++)
    if (!(labels[i] >= 0 && labels[i] < C)) throw new RetrievalError(`label index ${labels[i]} (row ${i}) is outside 0..${C - 1}`);
  return C;
}

/** Evaluates features (n x dim, row-major) with labels given as class indices into `sims`. */
export function evaluateRetrieval(features: Features, dim: number, labels: Int32Array, sims: Similarities, options: EvaluateOptions): EvaluateResult {
  const start = performance.now();
  const n = features.length / dim;
  const C = checkInputs(n, labels, sims);
  for (let i = 0; i < features.length; i++)
    if (!Number.isFinite(features[i]))
      throw new RetrievalError(`features: row ${Math.floor(i / dim)}, column ${i % dim} is ${features[i]} (not finite)`);
  if (options.queries && options.queries.length !== features.length)
    throw new RetrievalError(`${options.queries.length / dim} query rows for ${n} gallery rows`);
  const searcher = new Searcher(features, dim, options);
  const queries = searcher.prepareQueries(options.queries ?? features);
  const metrics = new HierarchicalPrecision(labels, sims, options, n);
  const graded = options.graded ? new GradedRetrieval(labels, sims.LCS_HEIGHT, options.graded, n) : undefined;
  const depth = Math.max(rankingDepth(options, n), Math.min(n, graded?.depth ?? 0));
  const ranker = new RowRanker(n);
  const members = membersByClass(labels, C);
  const top = new Int32Array(depth);
  const batch = options.batchSize ?? Math.max(1, Math.min(n, Math.floor(16e6 / n)));
  for (let q0 = 0; q0 < n; q0 += batch) {
    const q1 = Math.min(n, q0 + batch);
    const rows = searcher.distanceRows(queries.subarray(q0 * dim, q1 * dim), true);
    for (let q = q0; q < q1; q++) {
      const row = rows.subarray((q - q0) * n, (q - q0 + 1) * n);
      const lbl = labels[q];
      let ranks: Float64Array | undefined;
      if (row instanceof Float32Array && depth < n) {
        ranks = ranker.scanFloat32(row, depth, top, options.computeAp ? members[lbl] : undefined, q, labels, lbl);
      } else {
        ranker.load(row);
        ranker.top(depth, top);
        if (options.computeAp) {
          if (depth === n) {
            // whole ranking at hand: positions of the class members, query removed
            ranks = new Float64Array(members[lbl].length - 1);
            let p = 0, pos = 0;
            for (let i = 0; i < n; i++) {
              const r = top[i];
              if (r === q) continue;
              if (labels[r] === lbl) ranks[p++] = pos;
              pos++;
            }
          } else ranks = ranker.ranksOf(members[lbl], q, labels, lbl);
        }
      }
      metrics.add(q, q, lbl, top, ranks);
      graded?.add(q, q, lbl, top);
    }
    options.onProgress?.(q1, n);
  }
  const res = withGraded(metrics.result(), graded);
  return { ...res, engine: searcher.engine, precision: searcher.precision, seconds: (performance.now() - start) / 1000 };
}

/** Appends the graded metrics (means as Python's sum / count, like the others). */
function withGraded(res: MetricResults, graded: GradedRetrieval | undefined): MetricResults {
  if (!graded) return res;
  graded.names.forEach((name, i) => {
    const values = graded.perQuery[i].subarray(0, res.numQueries);
    let s = 0.0;
    for (let j = 0; j < values.length; j++) s = j === 0 ? values[0] : s + values[j];
    res.mean[name] = s / values.length;
    res.perQuery[name] = values;
  });
  return { ...res, names: [...res.names, ...graded.names] };
}

/**
 * Scores given full rankings (ranking[q] lists every gallery index, the query included, as
 * pairwise_retrieval yields them), e.g. the reference's saved rankings.
 */
export function evaluateRankings(
  rankings: ArrayLike<number>[],
  labels: Int32Array,
  sims: Similarities,
  options: MetricOptions & { graded?: GradedOptions },
): MetricResults {
  const n = labels.length;
  checkInputs(n, labels, sims);
  const metrics = new HierarchicalPrecision(labels, sims, options, rankings.length);
  const graded = options.graded ? new GradedRetrieval(labels, sims.LCS_HEIGHT, options.graded, rankings.length) : undefined;
  const depth = rankingDepth(options, n);
  rankings.forEach((ranking, q) => {
    if (ranking.length !== n) throw new RetrievalError(`ranking of query ${q} has ${ranking.length} items, expected ${n}`);
    const lbl = labels[q];
    const ranks: number[] = [];
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const r = ranking[i];
      if (r === q) continue;
      if (labels[r] === lbl) ranks.push(pos);
      pos++;
    }
    metrics.add(q, q, lbl, Int32Array.from({ length: depth }, (_, i) => ranking[i]), ranks);
    graded?.add(q, q, lbl, ranking);
  });
  return withGraded(metrics.result(), graded);
}

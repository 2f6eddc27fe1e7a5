// Retrieval evaluation driver: every sample queries all others (the reference's evaluate_retrieval), distance
// rows are produced in query batches (never an n x n matrix), each row is ranked and scored.
import { availableParallelism } from 'node:os';
import {
  HierarchicalPrecision,
  rankingDepth,
  type MetricOptions,
  type MetricResults,
  type PrecisionKind,
} from './metrics.js';
import { Searcher, toFloat32, type Features, type SearcherOptions } from './search.js';
import { RowScorer, scorerNames, type ScorerOptions } from './row-scorer.js';
import { Helpers } from './parallel.js';
import { RetrievalError } from './errors.js';
import { GradedRetrieval, type GradedOptions } from './graded.js';
import { loadNative, runNative } from './native.js';

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
  /**
   * Threads scoring the rows (the main one included); default: the available cores (at most 8), 1 for small
   * galleries. Results are identical for any count.
   */
  threads?: number;
  /**
   * Who ranks the rows: 'native' (the addon: BLAS + fused selection over threads), 'js' (FAISS / the JS float64
   * product, then the JS selection), 'auto' (default): native when the addon is built. Same rankings either way;
   * float64 distances from dgemm may differ from the JS product in the last bits (near-ties could swap).
   */
  kernel?: 'auto' | 'native' | 'js';
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluateResult extends MetricResults {
  engine: 'faiss' | 'exact';
  /** Precision of the distances: float32 (FAISS) or float64 (exact engine). */
  precision: 'float32' | 'float64';
  threads: number;
  /** Which kernel ranked the rows (EvaluateOptions.kernel). */
  kernel: 'native' | 'js';
  seconds: number;
}

/** Class similarity matrices (numClasses x numClasses, row-major) indexed by the label values. */
export type Similarities = Record<PrecisionKind, Float64Array>;

function checkInputs(n: number, labels: Int32Array, sims: Similarities): number {
  const C = Math.round(Math.sqrt(sims.WUP.length));
  if (labels.length !== n) throw new RetrievalError(`${n} feature rows but ${labels.length} labels`);
  if (n < 2) throw new RetrievalError(`retrieval needs at least 2 samples, got ${n}`);
  for (let i = 0; i < n; i++)
    if (!(labels[i] >= 0 && labels[i] < C))
      throw new RetrievalError(`label index ${labels[i]} (row ${i}) is outside 0..${C - 1}`);
  return C;
}

function defaultThreads(n: number): number {
  if (n < 4000) return 1;
  return Math.max(1, Math.min(8, availableParallelism()));
}

/** Evaluates features (n x dim, row-major) with labels given as class indices into `sims`. */
export function evaluateRetrieval(
  features: Features,
  dim: number,
  labels: Int32Array,
  sims: Similarities,
  options: EvaluateOptions,
): EvaluateResult {
  const start = performance.now();
  const n = features.length / dim;
  checkInputs(n, labels, sims);
  for (let i = 0; i < features.length; i++)
    if (!Number.isFinite(features[i]))
      throw new RetrievalError(
        `features: row ${Math.floor(i / dim)}, column ${i % dim} is ${features[i]} (not finite)`,
      );
  if (options.queries && options.queries.length !== features.length)
    throw new RetrievalError(`${options.queries.length / dim} query rows for ${n} gallery rows`);
  const threads = options.threads ?? defaultThreads(n);
  if (!(Number.isInteger(threads) && threads >= 1))
    throw new RetrievalError(`threads must be a positive integer, got ${threads}`);
  const choice = options.kernel ?? 'auto';
  if (!['auto', 'native', 'js'].includes(choice))
    throw new RetrievalError(`kernel must be auto, native or js, got ${String(choice)}`);
  const scorerOptions: ScorerOptions = {
    ks: options.ks,
    computeAhp: options.computeAhp,
    computeAp: options.computeAp,
    ideal: options.ideal,
    graded: options.graded,
  };
  const names = scorerNames(scorerOptions);
  const storageBuf = new SharedArrayBuffer(names.length * n * 8);
  const storage = names.map((_, i) => new Float64Array(storageBuf, i * n * 8, n));
  const scorer = new RowScorer({ labels, sims, options: scorerOptions }, storage);
  const searcher = new Searcher(features, dim, options);
  const queries = searcher.prepareQueries(options.queries ?? features);
  const batch = options.batchSize ?? Math.max(1, Math.min(n, Math.floor(16e6 / n)));
  const res = (kernel: 'native' | 'js') => ({
    ...resultOf(names, storage, scorerOptions.computeAp),
    engine: searcher.engine,
    precision: searcher.precision,
    threads,
    kernel,
    seconds: (performance.now() - start) / 1000,
  });
  const native = choice === 'js' ? {} : loadNative();
  if (choice === 'native' && !native.kernel) throw new RetrievalError(`native kernel not available: ${native.error}`);
  if (native.kernel) {
    const gallery = searcher.galleryRows();
    runNative(native.kernel, {
      gallery,
      queries:
        gallery instanceof Float32Array
          ? toFloat32(queries)
          : queries instanceof Float64Array
            ? queries
            : Float64Array.from(queries),
      dim,
      innerProduct: !!(options.normalize || options.innerProduct),
      labels,
      depth: scorer.depth,
      ap: scorerOptions.computeAp,
      threads,
      batch,
      rowsPerCall: searcher.blasRows,
      score: (q, top, ranks) => scorer.scoreRanked(q, top, ranks),
      onProgress: options.onProgress,
    });
    return res('native');
  }
  const f32 = searcher.precision === 'float32';
  const rowsBuf = new SharedArrayBuffer(batch * n * (f32 ? 4 : 8));
  const rows = f32 ? new Float32Array(rowsBuf) : new Float64Array(rowsBuf);
  const helpers =
    threads > 1
      ? new Helpers(threads - 1, {
          n,
          names,
          labels,
          sims,
          options: scorerOptions,
          storage: storageBuf,
          rows: rowsBuf,
          rowsType: f32 ? 'float32' : 'float64',
        })
      : undefined;
  try {
    for (let q0 = 0; q0 < n; q0 += batch) {
      const q1 = Math.min(n, q0 + batch);
      searcher.distanceRows(queries.subarray(q0 * dim, q1 * dim), rows);
      // contiguous shares: the main thread takes the first, helper s the (s + 1)-th
      const share = Math.ceil((q1 - q0) / threads);
      for (let s = 0; s < (helpers?.count ?? 0); s++)
        helpers!.start(s, q0, Math.min(q1, q0 + (s + 1) * share), Math.min(q1, q0 + (s + 2) * share));
      for (let q = q0; q < Math.min(q1, q0 + share); q++)
        scorer.score(q, rows.subarray((q - q0) * n, (q - q0 + 1) * n));
      helpers?.wait();
      options.onProgress?.(q1, n);
    }
  } finally {
    helpers?.close();
  }
  return res('js');
}

/** Means as Python's sum(values) / count, in query order. */
function resultOf(names: string[], perQueryArrays: Float64Array[], computeAp: boolean): MetricResults {
  const mean: Record<string, number> = {};
  const perQuery: Record<string, Float64Array> = {};
  for (let i = 0; i < names.length; i++) {
    mean[names[i]] = sequentialSum(perQueryArrays[i]) / perQueryArrays[i].length;
    perQuery[names[i]] = perQueryArrays[i];
  }
  let none = 0;
  if (computeAp) for (const v of perQuery.AP) if (Object.is(v, -0)) none++;
  const numQueries = perQueryArrays[0]?.length ?? 0;
  return { names, mean, perQuery, numQueries, queriesWithoutPositives: none };
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
  const graded = options.graded
    ? new GradedRetrieval(labels, sims.LCS_HEIGHT, options.graded, rankings.length)
    : undefined;
  const depth = rankingDepth(options, n);
  rankings.forEach((ranking, q) => {
    if (ranking.length !== n)
      throw new RetrievalError(`ranking of query ${q} has ${ranking.length} items, expected ${n}`);
    const lbl = labels[q];
    const ranks: number[] = [];
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const r = ranking[i];
      if (r === q) continue;
      if (labels[r] === lbl) ranks.push(pos);
      pos++;
    }
    metrics.add(
      q,
      q,
      lbl,
      Int32Array.from({ length: depth }, (_, i) => ranking[i]),
      ranks,
    );
    graded?.add(q, q, lbl, ranking);
  });
  return withGraded(metrics.result(), graded);
}

/** Python's sum(): left to right from the first value. */
function sequentialSum(values: Float64Array): number {
  let s = 0.0;
  for (let j = 0; j < values.length; j++) s = j === 0 ? values[0] : s + values[j];
  return s;
}

/** Appends the graded metrics (means as Python's sum / count, like the others). */
function withGraded(res: MetricResults, graded: GradedRetrieval | undefined): MetricResults {
  if (!graded) return res;
  const g = resultOf(
    graded.names,
    graded.perQuery.map((v) => v.subarray(0, res.numQueries)),
    false,
  );
  return {
    ...res,
    names: [...res.names, ...g.names],
    mean: { ...res.mean, ...g.mean },
    perQuery: { ...res.perQuery, ...g.perQuery },
  };
}

// Hierarchical precision, AHP(@K) and AP exactly as the reference's evaluate_retrieval.hierarchical_precision
// computes them (spec: packages/test-fixtures/fixtures/cvjena/reference/README.md §2.10, quirks Q15-Q21, bit-exactness notes §4).
import { numpySumSparse, numpyTrapz } from './numpy-sum.js';
import { RetrievalError } from './errors.js';

export type PrecisionKind = 'WUP' | 'LCS_HEIGHT';
export const PRECISION_KINDS: readonly PrecisionKind[] = ['WUP', 'LCS_HEIGHT'];

export interface MetricOptions {
  /** Cut-offs for P@k (the reference: 1..250). */
  ks: number[];
  /** true: AHP over the whole ranking; K (int >= 1): AHP@K; false: none. */
  computeAhp: boolean | number;
  computeAp: boolean;
  /**
   * Ideal ranking after removing the query from its own ranking. 'reference' (default): the reference's
   * `concat(best[:qi], best[qi+1:] - 1.0)` (quirk Q16: exact only when the query is ranked first);
   * 'corrected': the cumulative ideal of all gallery items except the query.
   */
  ideal?: 'reference' | 'corrected';
}

/** Metric names in the reference's order: P@k (WUP), P@k (LCS_HEIGHT) per k, then AHP, then AP. */
export function metricNames(options: MetricOptions): string[] {
  const names: string[] = [];
  for (const k of options.ks) for (const kind of PRECISION_KINDS) names.push(`P@${k} (${kind})`);
  if (options.computeAhp !== false) {
    const ahp = options.computeAhp === true ? 'AHP' : `AHP@${options.computeAhp}`;
    for (const kind of PRECISION_KINDS) names.push(`${ahp} (${kind})`);
  }
  if (options.computeAp) names.push('AP');
  return names;
}

/** How many ranked items (query included) each query needs: all of them for full AHP, else kmax + 1. */
export function rankingDepth(options: MetricOptions, gallerySize: number): number {
  if (options.computeAhp === true) return gallerySize;
  let kmax = Math.max(0, ...options.ks);
  if (typeof options.computeAhp === 'number') kmax = Math.max(kmax, options.computeAhp);
  return Math.min(gallerySize, kmax + 1);
}

export interface MetricResults {
  names: string[];
  /** Mean over queries: Python `sum(values) / count`. */
  mean: Record<string, number>;
  perQuery: Record<string, Float64Array>;
  numQueries: number;
  /** Queries whose class has no other sample in the gallery (AP = -0.0, as sklearn returns with a warning). */
  queriesWithoutPositives: number;
}

/**
 * Accumulates per-query metrics. Labels are class indices into the similarity matrices.
 * Per query: `ranked` is the ranking prefix (gallery indices, query included where it falls, ties in stable
 * index order) of at least rankingDepth() items; `relevantRanks` are the 0-based positions, in the ranking
 * with the query removed, of every gallery item of the query's class other than the query (ascending).
 */
export class HierarchicalPrecision {
  readonly names: string[];
  private readonly kmax: number;
  private readonly depth: number;
  private readonly n: number;
  private readonly numClasses: number;
  private readonly classCounts: Int32Array;
  private readonly best: Float64Array[] = [];
  /** ks ascending, and each one's position in options.ks (the metric order) */
  private readonly ksAsc: number[];
  private readonly ksSlot: number[];
  private readonly perQuery: Float64Array[];
  private count = 0;
  private noPositives = 0;
  private readonly wup: Float64Array;
  private readonly lcs: Float64Array;
  private readonly y: Float64Array;
  private readonly scratch: Float64Array;

  constructor(
    private readonly galleryLabels: Int32Array,
    private readonly sims: Record<PrecisionKind, Float64Array>,
    private readonly options: MetricOptions,
    numQueries: number,
    /** Per-metric arrays (numQueries each, metric order) to write into, e.g. shared with worker threads. */
    storage?: Float64Array[],
  ) {
    this.n = galleryLabels.length;
    this.numClasses = Math.round(Math.sqrt(sims.WUP.length));
    if (this.numClasses * this.numClasses !== sims.WUP.length || sims.LCS_HEIGHT.length !== sims.WUP.length)
      throw new Error('similarity matrices must be square and of the same size');
    for (const k of options.ks)
      if (!Number.isInteger(k) || k < 1) throw new RetrievalError(`P@k: k must be a positive integer, got ${k}`);
    if (typeof options.computeAhp === 'number' && (!Number.isInteger(options.computeAhp) || options.computeAhp < 1))
      throw new RetrievalError(`AHP@K: K must be a positive integer, got ${options.computeAhp}`);
    this.kmax = Math.max(0, ...options.ks);
    this.depth = rankingDepth(options, this.n);
    // P@k indexes ideal[k-1] over the n-1 items left after removing the query (an IndexError in the reference).
    if (this.kmax > this.n - 1)
      throw new RetrievalError(
        `P@${this.kmax} needs at least ${this.kmax + 1} samples (the query is not counted), but there are ${this.n}; lower --plot_max / ks`,
      );
    this.names = metricNames(options);
    const order = options.ks.map((k, i) => [k, i] as const).sort((a, b) => a[0] - b[0]);
    this.ksAsc = order.map((o) => o[0]);
    this.ksSlot = order.map((o) => o[1]);
    this.perQuery = storage ?? this.names.map(() => new Float64Array(numQueries));
    this.classCounts = new Int32Array(this.numClasses);
    for (let i = 0; i < this.n; i++) this.classCounts[galleryLabels[i]]++;
    this.wup = new Float64Array(this.depth);
    this.lcs = new Float64Array(this.depth);
    this.y = new Float64Array(this.depth);
    this.scratch = new Float64Array(this.depth);
  }

  get rankingDepth(): number {
    return this.depth;
  }

  /**
   * Cumulative ideal similarities for a query of class `lbl`: `np.cumsum(sorted(sims, reverse=True))` over every
   * gallery item (the reference caches it per label from the first query's full list; it depends on the label only).
   * `corrected` drops one instance of the query's self-similarity first.
   */
  private ideal(kind: PrecisionKind, lbl: number, corrected: boolean): Float64Array {
    const key = (lbl * 2 + (kind === 'WUP' ? 0 : 1)) * 2 + (corrected ? 1 : 0);
    let cum = this.best[key];
    if (cum) return cum;
    const row = this.sims[kind].subarray(lbl * this.numClasses, (lbl + 1) * this.numClasses);
    const order = Array.from({ length: this.numClasses }, (_, c) => c).filter((c) => this.classCounts[c] > 0);
    order.sort((a, b) => row[b] - row[a]);
    const counts = Int32Array.from(this.classCounts);
    let total = this.n;
    if (corrected) {
      counts[lbl]--;
      total--;
    }
    cum = new Float64Array(total);
    let acc = 0.0;
    let p = 0;
    for (const c of order) {
      const v = row[c];
      for (let j = 0; j < counts[c]; j++) {
        acc = p === 0 ? v : acc + v;
        cum[p++] = acc;
      }
    }
    this.best[key] = cum;
    return cum;
  }

  /** Adds query number `q` (0-based, in query order) of class `lbl`; `qid` is its gallery index or -1. */
  add(q: number, qid: number, lbl: number, ranked: Int32Array, relevantRanks: ArrayLike<number> | undefined): void {
    const { options, n } = this;
    const full = options.computeAhp === true;
    const m = Math.min(ranked.length, this.depth);
    if (m < this.depth) throw new Error(`query ${q}: ranking has ${ranked.length} items, ${this.depth} needed`);
    const corrected = options.ideal === 'corrected';
    let qi = -1;
    if (qid >= 0)
      for (let i = 0; i < m; i++)
        if (ranked[i] === qid) {
          qi = i;
          break;
        }
    // similarity lists of the ranking prefix, query removed
    const simW = this.sims.WUP,
      simL = this.sims.LCS_HEIGHT,
      C = this.numClasses,
      gl = this.galleryLabels;
    const wup = this.wup,
      lcs = this.lcs;
    let len = 0;
    for (let i = 0; i < m; i++) {
      if (i === qi) continue;
      const c = gl[ranked[i]];
      wup[len] = simW[lbl * C + c];
      lcs[len] = simL[lbl * C + c];
      len++;
    }
    if (full && len !== (qid >= 0 ? n - 1 : n)) throw new Error(`query ${q}: full AHP needs the whole ranking`);
    // reference: ideal = concat(best[:qi], best[qi+1:] - 1.0) when the query was found in the list (quirk Q16);
    // corrected: the cumulative ideal without one self-similarity, no shift
    const shiftAt = corrected || qi < 0 ? Infinity : qi;
    const nk = this.ksAsc.length;
    for (let kind = 0; kind < 2; kind++) {
      const list = kind === 0 ? wup : lcs;
      const best = this.ideal(PRECISION_KINDS[kind], lbl, corrected && qid >= 0);
      // P@k: Python sum(list[:k]) / ideal[k-1]
      let acc = 0.0;
      let j = 0;
      for (let t = 0; t < nk; t++) {
        const k = this.ksAsc[t];
        for (; j < k; j++) acc = j === 0 ? list[0] : acc + list[j];
        const ideal = k - 1 < shiftAt ? best[k - 1] : best[k] - 1.0;
        this.perQuery[2 * this.ksSlot[t] + kind][q] = acc / ideal;
      }
    }
    // the per-query slots after the P@k ones: AHP (WUP, LCS) when computed, then AP
    let metric = 2 * nk;
    if (options.computeAhp !== false) {
      const K = full ? len : (options.computeAhp as number);
      for (let kind = 0; kind < 2; kind++) {
        const list = kind === 0 ? wup : lcs;
        const best = this.ideal(PRECISION_KINDS[kind], lbl, corrected && qid >= 0);
        // np.trapz(np.cumsum(list[:K]) / ideal[:K], dx = 1/K)
        const y = this.y;
        let acc = 0.0;
        for (let i = 0; i < K; i++) {
          acc = i === 0 ? list[0] : acc + list[i];
          y[i] = acc / (i < shiftAt ? best[i] : best[i + 1] - 1.0);
        }
        this.perQuery[metric++][q] = numpyTrapz(y, K, 1 / K, this.scratch);
      }
    }
    if (options.computeAp) {
      const ap = averagePrecision(relevantRanks ?? [], qid >= 0 ? n - 1 : n);
      if (Object.is(ap, -0)) this.noPositives++;
      this.perQuery[metric][q] = ap;
    }
    this.count++;
  }

  result(): MetricResults {
    const mean: Record<string, number> = {};
    const perQuery: Record<string, Float64Array> = {};
    this.names.forEach((name, i) => {
      const values = this.perQuery[i].subarray(0, this.count);
      let s = 0.0;
      for (let j = 0; j < values.length; j++) s = j === 0 ? values[0] : s + values[j];
      mean[name] = s / values.length;
      perQuery[name] = values;
    });
    return { names: this.names, mean, perQuery, numQueries: this.count, queriesWithoutPositives: this.noPositives };
  }
}

// averagePrecision's scratch, grown to the most relevant items seen (one query at a time per thread)
let apPos = new Int32Array(0),
  apVal = new Float64Array(0);

/**
 * sklearn 1.2.1 `average_precision_score(y_true, -position)` over N ranked items whose relevant ones sit at the
 * ascending 0-based `ranks`: `-np.sum(np.diff(recall) * precision[:-1])` with both curves reversed; every
 * non-relevant position contributes +0.0, so only the relevant terms are summed, in numpy's pairwise grouping.
 * No relevant item: -0.0 (sklearn warns "No positive class found in y_true").
 */
export function averagePrecision(ranks: ArrayLike<number>, N: number): number {
  const P = ranks.length;
  if (P === 0) return -0.0;
  if (apPos.length < P) {
    apPos = new Int32Array(P);
    apVal = new Float64Array(P);
  }
  // integer positions: numpySumSparse picks their pairwise lanes with integer ops
  const pos = apPos,
    val = apVal;
  // array position j = N-1-i for ranked position i; fill in ascending j (descending i)
  for (let t = 0; t < P; t++) {
    const r = P - 1 - t; // relevant item number r (0-based), at ranked position i
    const i = ranks[r];
    const tps = r + 1;
    const recall = tps / P;
    const recallBefore = r / P; // tps at i-1 equals r (0 for the first relevant item)
    const precision = tps / (i + 1);
    pos[t] = N - 1 - i;
    val[t] = (recallBefore - recall) * precision;
  }
  return -numpySumSparse(N, pos, val, P);
}

// Graded-relevance retrieval metrics beside the reference's: nDCG@k with the class similarity (LCS_HEIGHT,
// 1 - height(lcs)/maxHeight) as the gain, and the mean LCS height (tree levels) of the top k retrieved.
// The query is removed from its own ranking, as for the reference's metrics; the ideal ranking is every other
// gallery item sorted by gain (sklearn's ndcg_score semantics: log2 discounts, nDCG = 0 when the ideal DCG is 0).
import { RetrievalError } from './errors.js';

export interface GradedOptions {
  /** Cut-offs of nDCG@k and LCS height@k. */
  ks: number[];
  /** Height of the taxonomy: turns LCS_HEIGHT similarities back into integer levels. */
  maxHeight: number;
}

export function gradedMetricNames(ks: number[]): string[] {
  return [...ks.map((k) => `nDCG@${k} (LCS_HEIGHT)`), ...ks.map((k) => `LCS height@${k}`)];
}

export class GradedRetrieval {
  readonly names: string[];
  readonly perQuery: Float64Array[];
  private readonly C: number;
  private readonly counts: Int32Array;
  private readonly idealCache = new Map<number, Float64Array>();
  private readonly kmax: number;
  private readonly levels: Int32Array;
  private readonly discount: Float64Array;

  constructor(
    private readonly galleryLabels: Int32Array,
    private readonly sim: Float64Array,
    private readonly options: GradedOptions,
    numQueries: number,
    storage?: Float64Array[],
  ) {
    this.C = Math.round(Math.sqrt(sim.length));
    for (const k of options.ks)
      if (!Number.isInteger(k) || k < 1) throw new RetrievalError(`nDCG@k: k must be a positive integer, got ${k}`);
    this.kmax = Math.max(0, ...options.ks);
    if (this.kmax > galleryLabels.length - 1)
      throw new RetrievalError(
        `nDCG@${this.kmax} needs at least ${this.kmax + 1} samples, got ${galleryLabels.length}`,
      );
    this.names = gradedMetricNames(options.ks);
    this.perQuery = storage ?? this.names.map(() => new Float64Array(numQueries));
    this.counts = new Int32Array(this.C);
    for (const l of galleryLabels) this.counts[l]++;
    this.levels = Int32Array.from(sim, (s) => Math.round((1 - s) * options.maxHeight));
    this.discount = Float64Array.from({ length: this.kmax }, (_, i) => 1 / Math.log2(i + 2));
  }

  /** Items (query included) each query's ranking prefix must hold. */
  get depth(): number {
    return this.kmax + 1;
  }

  /** Cumulative discounted gains of the ideal ranking for a query of class lbl (one self-match removed). */
  private ideal(lbl: number): Float64Array {
    let cum = this.idealCache.get(lbl);
    if (cum) return cum;
    const { C, sim, kmax, discount } = this;
    const order = Array.from({ length: C }, (_, c) => c).sort((a, b) => sim[lbl * C + b] - sim[lbl * C + a]);
    cum = new Float64Array(kmax);
    let p = 0,
      acc = 0;
    for (const c of order) {
      let m = this.counts[c] - (c === lbl ? 1 : 0);
      for (; m > 0 && p < kmax; m--, p++) cum[p] = acc += sim[lbl * C + c] * discount[p];
      if (p >= kmax) break;
    }
    this.idealCache.set(lbl, cum);
    return cum;
  }

  /** Query number q (gallery index qid, or -1) of class lbl with its ranking prefix (query included). */
  add(q: number, qid: number, lbl: number, ranked: ArrayLike<number>): void {
    const { C, sim, levels, discount, kmax, galleryLabels } = this;
    const best = this.ideal(lbl);
    const ks = this.options.ks;
    const nk = ks.length;
    let dcg = 0,
      height = 0,
      pos = 0;
    const byK = ks.map((k, i) => [k, i] as const).sort((a, b) => a[0] - b[0]);
    let t = 0;
    for (let i = 0; pos < kmax; i++) {
      if (i >= ranked.length)
        throw new RetrievalError(`query ${q}: ranking has ${ranked.length} items, ${kmax + 1} needed`);
      const r = ranked[i];
      if (r === qid) continue;
      const c = galleryLabels[r];
      dcg += sim[lbl * C + c] * discount[pos];
      height += levels[lbl * C + c];
      pos++;
      for (; t < nk && byK[t][0] === pos; t++) {
        const [k, slot] = byK[t];
        const idcg = best[k - 1];
        this.perQuery[slot][q] = idcg > 0 ? dcg / idcg : 0;
        this.perQuery[nk + slot][q] = height / k;
      }
    }
  }
}

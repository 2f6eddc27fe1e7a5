// One distance row -> every metric of its query: the ranking prefix (bucket selection, or a whole sort for AHP over
// the full ranking), the AP positions of the query's class, then the reference's metrics and the graded ones.
// Used by the main thread and by the worker threads alike; results go to per-metric arrays indexed by query.
import { BucketSelector } from './bucket-select.js';
import { GradedRetrieval, gradedMetricNames, type GradedOptions } from './graded.js';
import { HierarchicalPrecision, metricNames, rankingDepth, type MetricOptions, type PrecisionKind } from './metrics.js';
import { RowRanker } from './ranking.js';

export type ScorerOptions = MetricOptions & { graded?: GradedOptions };

export interface ScorerSetup {
  labels: Int32Array;
  sims: Record<PrecisionKind, Float64Array>;
  options: ScorerOptions;
}

/** All metric names, in output order (the reference's, then the graded ones). */
export function scorerNames(options: ScorerOptions): string[] {
  return [...metricNames(options), ...(options.graded ? gradedMetricNames(options.graded.ks) : [])];
}

export function membersByClass(labels: Int32Array, numClasses: number): Int32Array[] {
  const counts = new Int32Array(numClasses);
  for (const l of labels) counts[l]++;
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) out[labels[i]][fill[labels[i]]++] = i;
  return out;
}

export class RowScorer {
  readonly depth: number;
  private readonly n: number;
  private readonly metrics: HierarchicalPrecision;
  private readonly graded?: GradedRetrieval;
  private readonly members: Int32Array[];
  private readonly top: Int32Array;
  private selector?: BucketSelector;
  private ranker?: RowRanker;

  /** storage: one array of n values per scorerNames() entry. */
  constructor(
    private readonly setup: ScorerSetup,
    storage: Float64Array[],
  ) {
    const { labels, sims, options } = setup;
    const n = (this.n = labels.length);
    const nm = metricNames(options).length;
    this.metrics = new HierarchicalPrecision(labels, sims, options, n, storage.slice(0, nm));
    if (options.graded)
      this.graded = new GradedRetrieval(labels, sims.LCS_HEIGHT, options.graded, n, storage.slice(nm));
    this.depth = Math.max(rankingDepth(options, n), Math.min(n, this.graded?.depth ?? 0));
    this.members = membersByClass(labels, Math.round(Math.sqrt(sims.WUP.length)));
    this.top = new Int32Array(this.depth);
  }

  /** Scores query q (gallery item q) from its distances to every gallery item. */
  score(q: number, row: Float32Array | Float64Array): void {
    const { labels, options } = this.setup;
    const { n, depth, top } = this;
    const lbl = labels[q];
    const members = this.members[lbl];
    let ranks: Float64Array | undefined;
    if (depth < n) {
      const selector = (this.selector ??= new BucketSelector(n));
      ranks = selector.scan(row, depth, top, options.computeAp ? members : undefined, q, labels, lbl);
    } else {
      const ranker = (this.ranker ??= new RowRanker(n));
      ranker.load(row);
      ranker.top(depth, top);
      if (options.computeAp) {
        // whole ranking at hand: positions of the class members, query removed
        ranks = new Float64Array(members.length - 1);
        let p = 0,
          pos = 0;
        for (let i = 0; i < n; i++) {
          const r = top[i];
          if (r === q) continue;
          if (labels[r] === lbl) ranks[p++] = pos;
          pos++;
        }
      }
    }
    this.metrics.add(q, q, lbl, top, ranks);
    this.graded?.add(q, q, lbl, top);
  }

  /** Scores query q from a ranking prefix of `depth` items and its AP positions (the native kernel's output). */
  scoreRanked(q: number, top: Int32Array, ranks: ArrayLike<number>): void {
    const lbl = this.setup.labels[q];
    this.metrics.add(q, q, lbl, top, this.setup.options.computeAp ? ranks : undefined);
    this.graded?.add(q, q, lbl, top);
  }
}

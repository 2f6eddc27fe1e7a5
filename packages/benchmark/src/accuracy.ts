// Accuracy beside speed: each runtime's outputs on the same inputs against the reference runtime's (ORT CPU
// fp32), and, with labelled data, the retrieval and classification metrics per runtime.
import { balancedAccuracy } from '@semembed/trainer';
import { evaluateRetrieval, type Similarities } from '@semembed/retrieval';
import type { Sidecar } from '@semembed/runtime-node';
import type { AccuracyResult, Outputs } from './types.js';

export const DEFAULT_TOLERANCE = 1e-3;

function cosine(a: Float32Array, b: Float32Array, off: number, len: number): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = off; i < off + len; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  // Two zero vectors agree; one zero vector against a non-zero one does not.
  if (aa === 0 && bb === 0) return 1;
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** Class per sample: argmax of the probability/logit output, else the nearest class embedding, else none. */
export function predictClasses(outputs: Outputs, sidecar: Sidecar, n: number): Int32Array | undefined {
  const prob = sidecar.outputs.find((o) => o.kind === 'probabilities' || o.kind === 'logits');
  const emb = sidecar.outputs.find((o) => o.kind === 'embedding');
  const argmax = (x: Float32Array, dim: number, score?: (i: number, c: number) => number) => {
    const out = new Int32Array(n);
    const classes = score ? sidecar.classEmbedding!.length : dim;
    for (let i = 0; i < n; i++) {
      let best = 0,
        bestV = -Infinity;
      for (let c = 0; c < classes; c++) {
        const v = score ? score(i, c) : x[i * dim + c];
        if (v > bestV) [best, bestV] = [c, v];
      }
      out[i] = best;
    }
    return out;
  };
  if (prob && outputs[prob.name]) return argmax(outputs[prob.name], outputs[prob.name].length / n);
  if (emb && outputs[emb.name] && sidecar.classEmbedding?.length) {
    const x = outputs[emb.name];
    const dim = x.length / n;
    const ce = sidecar.classEmbedding;
    return argmax(x, dim, (i, c) => ce[c].reduce((s, v, j) => s + v * x[i * dim + j], 0));
  }
  return undefined;
}

export function compareOutputs(
  reference: string,
  ref: Outputs,
  got: Outputs,
  sidecar: Sidecar,
  n: number,
  tolerance: number,
): AccuracyResult {
  const outputs: AccuracyResult['outputs'] = {};
  const problems: string[] = [];
  for (const [name, r] of Object.entries(ref)) {
    const g = got[name];
    if (!g) {
      problems.push(`output ${name} missing`);
      continue;
    }
    if (g.length !== r.length) {
      problems.push(`output ${name} has ${g.length} values, the reference ${r.length}`);
      continue;
    }
    let maxAbsDiff = 0;
    for (let i = 0; i < r.length; i++) {
      const d = Math.abs(g[i] - r[i]);
      // NaN must count as a disagreement, not vanish in Math.max.
      maxAbsDiff = Number.isNaN(d) ? Infinity : Math.max(maxAbsDiff, d);
    }
    const dim = r.length / n;
    let worstCosine = 1;
    for (let s = 0; s < n; s++) worstCosine = Math.min(worstCosine, cosine(r, g, s * dim, dim));
    outputs[name] = { maxAbsDiff, worstCosine };
    if (!(maxAbsDiff <= tolerance))
      problems.push(`${name}: max |diff| ${maxAbsDiff.toExponential(2)} > tolerance ${tolerance}`);
  }
  const a = predictClasses(ref, sidecar, n);
  const b = predictClasses(got, sidecar, n);
  let top1Agreement: number | undefined;
  if (a && b) {
    let same = 0;
    for (let i = 0; i < n; i++) same += a[i] === b[i] ? 1 : 0;
    top1Agreement = same / n;
  }
  return {
    reference,
    samples: n,
    outputs,
    top1Agreement,
    flagged: problems.length > 0,
    flagReason: problems.length ? problems.join('; ') : undefined,
  };
}

export interface LabelledData {
  /** Samples in the model's layout, normalised as the sidecar says. */
  data: Float32Array;
  n: number;
  labels: Int32Array;
  /** Similarity matrices over class indices (from --hierarchy) for mAHP; absent: accuracy only. */
  sims?: Similarities;
  source: string;
}

/** mAHP@k (when a hierarchy is given) on the embedding output, balanced accuracy from the class prediction. */
export function labelledMetrics(
  outputs: Outputs,
  sidecar: Sidecar,
  d: LabelledData,
  k = 250,
): NonNullable<AccuracyResult['labelled']> {
  const res: NonNullable<AccuracyResult['labelled']> = { samples: d.n };
  const pred = predictClasses(outputs, sidecar, d.n);
  if (pred) res.balancedAccuracy = balancedAccuracy(pred, d.labels);
  const emb = sidecar.outputs.find((o) => o.kind === 'embedding');
  // Each query ranks the other n − 1 samples: AHP@k beyond that is NaN, so k is clipped (and reported).
  const kk = Math.min(k, d.n - 1);
  if (d.sims && emb && outputs[emb.name] && kk >= 1) {
    const x = outputs[emb.name];
    const r = evaluateRetrieval(x, x.length / d.n, d.labels, d.sims, {
      ks: [],
      computeAhp: kk,
      computeAp: false,
      normalize: true,
      engine: 'exact',
    });
    // The paper's mAHP is over LCS height similarities.
    res.mAHP = r.mean[`AHP@${kk} (LCS_HEIGHT)`];
    res.k = kk;
  }
  return res;
}

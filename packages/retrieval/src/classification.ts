// Classification accuracy as the reference's evaluate_classification_accuracy.evaluate: predictions ranked from
// class probabilities (`prob` output, descending) or by the nearest class embedding (squared Euclidean,
// ascending), then Accuracy, Top-5 Accuracy, Hierarchical Accuracy (mean of 1 - lcs_height(pred, true)), and the
// balanced (per-class mean) variants.
import { RetrievalError } from './errors.js';
import type { Features } from './search.js';

export const CLASSIFICATION_METRICS = [
  'Accuracy',
  'Top-5 Accuracy',
  'Hierarchical Accuracy',
  'Balanced Accuracy',
  'Balanced Top-5 Accuracy',
];

/**
 * Class columns ranked per sample (n x min(topK, C)). 'prob': by score descending, ties to the higher column
 * (as argsort()[:, ::-1] of a stable sort); 'centroids': features vs class embeddings by squared Euclidean
 * distance ascending, ties to the lower column.
 */
export function rankClasses(
  x: Features,
  dim: number,
  mode: { kind: 'prob' } | { kind: 'centroids'; centroids: Float64Array; rows: number },
  topK: number,
): { ranked: Int32Array; k: number; classes: number } {
  const n = x.length / dim;
  const C = mode.kind === 'prob' ? dim : mode.rows;
  if (mode.kind === 'centroids' && mode.centroids.length !== C * dim)
    throw new RetrievalError(
      `class embeddings have ${mode.centroids.length / mode.rows} dimensions, the features ${dim}`,
    );
  const k = Math.min(topK, C);
  const ranked = new Int32Array(n * k);
  const score = new Float64Array(C);
  const order = new Int32Array(C);
  for (let i = 0; i < n; i++) {
    if (mode.kind === 'prob') {
      for (let c = 0; c < C; c++) score[c] = -x[i * dim + c];
    } else {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let t = 0; t < dim; t++) {
          const d = x[i * dim + t] - mode.centroids[c * dim + t];
          s += d * d;
        }
        score[c] = s;
      }
    }
    for (let c = 0; c < C; c++) order[c] = c;
    const tieHigh = mode.kind === 'prob';
    order.sort((a, b) => score[a] - score[b] || (tieHigh ? b - a : a - b));
    ranked.set(order.subarray(0, k), i * k);
  }
  return { ranked, k, classes: C };
}

export interface ClassificationResult {
  metrics: Record<string, number>;
  perClassAccuracy: Map<number | string, number>;
}

/**
 * `ranked` (n x k class columns), `columnIds[c]` the class id of column c, `truth[i]` the true class id,
 * `lcsHeight(a, b)` the hierarchy's dissimilarity.
 */
export function classificationAccuracy(
  ranked: Int32Array,
  k: number,
  columnIds: (number | string)[],
  truth: (number | string)[],
  lcsHeight: (a: number | string, b: number | string) => number,
): ClassificationResult {
  const n = truth.length;
  if (ranked.length !== n * k) throw new RetrievalError(`${ranked.length / k} predictions but ${n} labels`);
  let correct = 0,
    correct5 = 0,
    hier = 0.0;
  const perClass = new Map<number | string, { n: number; top1: number; top5: number }>();
  for (let i = 0; i < n; i++) {
    const yt = truth[i];
    const yp = columnIds[ranked[i * k]];
    const hit = yp === yt;
    let hit5 = false;
    for (let j = 0; j < Math.min(5, k); j++) if (columnIds[ranked[i * k + j]] === yt) hit5 = true;
    if (hit) correct++;
    if (hit5) correct5++;
    hier += 1.0 - lcsHeight(yp, yt);
    const pc = perClass.get(yt) ?? { n: 0, top1: 0, top5: 0 };
    pc.n++;
    if (hit) pc.top1++;
    if (hit5) pc.top5++;
    perClass.set(yt, pc);
  }
  let bal = 0,
    bal5 = 0;
  const perClassAccuracy = new Map<number | string, number>();
  for (const [c, v] of perClass) {
    bal += v.top1 / v.n;
    bal5 += v.top5 / v.n;
    perClassAccuracy.set(c, v.top1 / v.n);
  }
  const metrics: Record<string, number> = {
    Accuracy: correct / n,
    'Top-5 Accuracy': correct5 / n,
    'Hierarchical Accuracy': hier / n,
    'Balanced Accuracy': bal / perClass.size,
    'Balanced Top-5 Accuracy': bal5 / perClass.size,
  };
  return { metrics, perClassAccuracy };
}

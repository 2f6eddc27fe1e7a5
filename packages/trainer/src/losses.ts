/** Losses and metrics of the reference (utils.inv_correlation, squared_distance, nn_accuracy). */
import type * as tfType from '@tensorflow/tfjs';

type Tf = typeof tfType;

export type LossName = 'inv_corr' | 'mse' | 'unnorm_corr' | 'softmax_corr';
export const LOSSES: readonly LossName[] = ['inv_corr', 'mse', 'unnorm_corr', 'softmax_corr'];

/** The loss of a training step and its targets: what fit(), the native step and the data-parallel helpers share. */
export interface LossSetup {
  loss: LossName;
  /** Weight of the cls head's cross-entropy in the loss. */
  clsWeight: number;
  /** Class embedding rows x dim, row-major (targets = rows[label]). */
  embedding: Float32Array;
  embRows: number;
  embDim: number;
  numClasses: number;
}

/** Per-sample embedding loss: 1 - <y_true, y_pred> for the *_corr losses, sum (y_pred - y_true)^2 for mse. */
export function embeddingLoss(tf: Tf, loss: LossName, yTrue: tfType.Tensor, yPred: tfType.Tensor): tfType.Tensor1D {
  if (loss === 'mse') return tf.sum(tf.squaredDifference(yPred, yTrue), -1) as tfType.Tensor1D;
  return tf.sub(1, tf.sum(tf.mul(yTrue, yPred), -1)) as tfType.Tensor1D;
}

/** Keras's categorical cross-entropy on probabilities: renormalise, clip to [1e-7, 1 - 1e-7], -sum y log p. */
export function categoricalCrossentropy(tf: Tf, yTrue: tfType.Tensor, probs: tfType.Tensor): tfType.Tensor1D {
  const p = tf.clipByValue(tf.div(probs, tf.sum(probs, -1, true)), 1e-7, 1 - 1e-7);
  return tf.neg(tf.sum(tf.mul(yTrue, tf.log(p)), -1)) as tfType.Tensor1D;
}

/**
 * Embedding accuracy of one batch (count of correct samples), computed on the host in float64 from the
 * network's float32 outputs. `emb` is rows x dim (class embedding), `pred` n x dim.
 * - *_corr (dot-product similarity): correct when max_k <pred, e_k> is within 1e-6 of <pred, e_label>.
 * - mse: correct when the squared distance to e_label is within 1e-6 of the smallest squared distance.
 * - softmax_corr uses Keras's 'accuracy' for it: argmax(pred) == argmax(e_label).
 */
export function embeddingCorrect(
  loss: LossName,
  pred: Float32Array,
  labels: Int32Array,
  emb: Float32Array,
  rows: number,
  dim: number,
): number {
  let correct = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const p = i * dim;
    const y = labels[i];
    if (loss === 'softmax_corr') {
      let bp = 0;
      let bt = 0;
      for (let d = 1; d < dim; d++) {
        if (pred[p + d] > pred[p + bp]) bp = d;
        if (emb[y * dim + d] > emb[y * dim + bt]) bt = d;
      }
      if (bp === bt) correct++;
      continue;
    }
    let best = loss === 'mse' ? Infinity : -Infinity;
    let own = 0;
    for (let k = 0; k < rows; k++) {
      let v = 0;
      if (loss === 'mse') {
        for (let d = 0; d < dim; d++) {
          const t = pred[p + d] - emb[k * dim + d];
          v += t * t;
        }
        if (v < best) best = v;
      } else {
        for (let d = 0; d < dim; d++) v += pred[p + d] * emb[k * dim + d];
        if (v > best) best = v;
      }
      if (k === y) own = v;
    }
    if (Math.abs(own - best) < 1e-6) correct++;
  }
  return correct;
}

/** Count of argmax(probs) == label. */
export function classCorrect(probs: Float32Array, labels: Int32Array, numClasses: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let b = 0;
    for (let c = 1; c < numClasses; c++) if (probs[i * numClasses + c] > probs[i * numClasses + b]) b = c;
    if (b === labels[i]) correct++;
  }
  return correct;
}

/** Balanced ("average") accuracy as the reference prints it: mean over classes of per-class accuracy. */
export function balancedAccuracy(pred: Int32Array, labels: Int32Array): number {
  const total = new Map<number, number>();
  const hit = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    total.set(labels[i], (total.get(labels[i]) ?? 0) + 1);
    if (pred[i] === labels[i]) hit.set(labels[i], (hit.get(labels[i]) ?? 0) + 1);
  }
  let s = 0;
  for (const [c, t] of total) s += (hit.get(c) ?? 0) / t;
  return total.size ? s / total.size : 0;
}

/** Nearest class embedding per sample (dot product for *_corr, Euclidean for mse). */
export function nearestClass(
  loss: LossName,
  pred: Float32Array,
  n: number,
  emb: Float32Array,
  rows: number,
  dim: number,
): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = loss === 'mse' ? Infinity : -Infinity;
    let arg = 0;
    for (let k = 0; k < rows; k++) {
      let v = 0;
      for (let d = 0; d < dim; d++) {
        if (loss === 'mse') {
          const t = pred[i * dim + d] - emb[k * dim + d];
          v += t * t;
        } else v += pred[i * dim + d] * emb[k * dim + d];
      }
      if (loss === 'mse' ? v < best : v > best) {
        best = v;
        arg = k;
      }
    }
    out[i] = arg;
  }
  return out;
}

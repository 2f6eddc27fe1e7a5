/**
 * The trainer's losses (../losses.ts, fit.ts's batchLoss) in native-step form: the batch mean of the embedding
 * loss, clsWeight * the mean categorical cross-entropy of the prob head, each with its gradient with respect to the
 * output written into that output's gradient buffer. Rows of ~10 values: plain loops in double.
 */
import type { LossName } from '../losses.js';

/** Mean embedding loss of n rows; writes d(loss)/d(pred) into `grad`. */
export function embeddingLossNative(
  loss: LossName,
  pred: Float32Array,
  target: (row: number, j: number) => number,
  n: number,
  dim: number,
  grad: Float32Array,
): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    let l = 0;
    for (let j = 0; j < dim; j++) {
      const p = pred[i * dim + j];
      const t = target(i, j);
      if (loss === 'mse') {
        l += (p - t) * (p - t);
        grad[i * dim + j] = (2 * (p - t)) / n;
      } else {
        l += t * p;
        grad[i * dim + j] = -t / n;
      }
    }
    total += loss === 'mse' ? l : 1 - l;
  }
  return total / n;
}

/**
 * weight * mean over rows of Keras's categorical cross-entropy on probabilities (renormalised, clipped to
 * [1e-7, 1 - 1e-7]) for one-hot labels; writes its gradient with respect to the probabilities into `grad`.
 */
export function crossEntropyNative(
  probs: Float32Array,
  labels: Int32Array,
  n: number,
  classes: number,
  weight: number,
  grad: Float32Array,
): number {
  let total = 0;
  const lo = Math.fround(1e-7);
  const hi = Math.fround(1 - 1e-7);
  for (let i = 0; i < n; i++) {
    const off = i * classes;
    let s = 0;
    for (let j = 0; j < classes; j++) s += probs[off + j];
    const y = labels[i];
    const q = probs[off + y] / s;
    const c = Math.min(Math.max(q, lo), hi);
    total -= Math.log(c);
    // d/dq of -log(clip(q)) (zero where clipped), then through q_y = p_y / s
    const dq = q >= lo && q <= hi ? -weight / n / c : 0;
    for (let j = 0; j < classes; j++) grad[off + j] = -(dq * probs[off + y]) / (s * s);
    grad[off + y] += dq / s;
  }
  return (weight * total) / n;
}

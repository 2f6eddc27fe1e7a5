/**
 * Keras 2.2's BatchNormalization moves its moving variance towards the *unbiased* batch variance
 * (variance * n/(n-1), n = values per channel in the batch); tfjs moves it towards the biased one. After a
 * training forward pass we rescale tfjs's update to Keras's:
 *   tfjs:  new = m*old + (1-m)*var          Keras: new' = m*old + (1-m)*var*n/(n-1)
 *   so     new' = m*old + (new - m*old) * n/(n-1).
 */
import type * as tfType from '@tensorflow/tfjs';

type Tf = typeof tfType;

interface Target {
  variable: tfType.Variable;
  momentum: number;
  /** Values per channel for one input row (product of the non-batch, non-channel axes). */
  perRow: number;
}

const cache = new WeakMap<tfType.LayersModel, Target[]>();

function targetsOf(model: tfType.LayersModel): Target[] {
  let t = cache.get(model);
  if (t) return t;
  t = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const cfg = layer.getConfig() as { momentum?: number; axis?: number | number[] };
    const shape = layer.input instanceof Array ? layer.input[0].shape : (layer.input as tfType.SymbolicTensor).shape;
    const axes = (Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1]).map((a) => (a < 0 ? shape.length + a : a));
    let perRow = 1;
    for (let i = 1; i < shape.length; i++) if (!axes.includes(i)) perRow *= shape[i] ?? 1;
    const mv = layer.weights.find((w) => w.originalName.endsWith('moving_variance'));
    if (!mv) continue;
    t.push({ variable: mv.read() as tfType.Variable, momentum: cfg.momentum ?? 0.99, perRow });
  }
  cache.set(model, t);
  return t;
}

/** Call before a training forward pass of `rows` rows; the returned function applies the correction after it. */
export function besselCorrection(tf: Tf, model: tfType.LayersModel, rows: number): () => void {
  const targets = targetsOf(model);
  if (targets.length === 0) return () => {};
  const olds = targets.map((t) => tf.clone(t.variable));
  return () => {
    targets.forEach((t, i) => {
      const n = t.perRow * rows;
      if (n > 1) {
        const next = tf.tidy(() => {
          const mOld = tf.mul(olds[i], t.momentum);
          return tf.add(mOld, tf.mul(tf.sub(t.variable, mOld), n / (n - 1)));
        });
        t.variable.assign(next);
        next.dispose();
      }
      olds[i].dispose();
    });
  };
}

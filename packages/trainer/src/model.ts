/**
 * Output heads for a tfjs embedding network, as the reference's learn_image_embeddings.py adds them:
 * `l2norm` (inv_corr) or `softmax` (softmax_corr) on the embedding, and with cls_weight > 0 a classifier
 * `relu -> BatchNormalization -> Dense(num_classes, softmax, l2(5e-4)) 'prob'` on the embedding or on `cls_base`.
 * Used for models that do not come with their heads from @semembed/architectures (tests, custom networks).
 */
import type * as tfType from '@tensorflow/tfjs';
import { TrainerError } from './errors.js';
import type { LossName } from './losses.js';

type Tf = typeof tfType;

const registered = new WeakSet<object>();

/** L2 normalisation over the last axis (tf.nn.l2_normalize semantics: x / sqrt(max(sum x^2, 1e-12))). */
export function l2NormalizeLayerClass(tf: Tf): new (args: { name?: string }) => tfType.layers.Layer {
  class L2Normalize extends tf.layers.Layer {
    static className = 'L2Normalize';
    override call(inputs: tfType.Tensor | tfType.Tensor[]): tfType.Tensor {
      return tf.tidy(() => {
        const x = Array.isArray(inputs) ? inputs[0] : inputs;
        return tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12)));
      });
    }
    override computeOutputShape(s: tfType.Shape | tfType.Shape[]) {
      return s;
    }
  }
  if (!registered.has(tf.serialization)) {
    tf.serialization.registerClass(L2Normalize);
    registered.add(tf.serialization);
  }
  return L2Normalize;
}

export interface HeadOptions {
  loss: LossName;
  numClasses: number;
  clsWeight?: number;
  /** Name or index of the layer whose output feeds the classifier (default: the embedding output). */
  clsBase?: string;
}

/** Adds the reference's heads to `base` (one input, one output). Returns the model and its output names. */
export function addHeads(
  tf: Tf,
  base: tfType.LayersModel,
  o: HeadOptions,
): { model: tfType.LayersModel; embeddingOutput: string } {
  let out = base.outputs[0];
  let embeddingOutput = base.outputLayers[0].name;
  if (o.loss === 'inv_corr') {
    const L2 = l2NormalizeLayerClass(tf);
    out = new L2({ name: 'l2norm' }).apply(out) as tfType.SymbolicTensor;
    embeddingOutput = 'l2norm';
  } else if (o.loss === 'softmax_corr') {
    out = tf.layers.activation({ activation: 'softmax', name: 'softmax' }).apply(out) as tfType.SymbolicTensor;
    embeddingOutput = 'softmax';
  }
  if (!(o.clsWeight && o.clsWeight > 0)) {
    return { model: tf.model({ inputs: base.inputs, outputs: out, name: base.name }), embeddingOutput };
  }
  let clsIn = out;
  if (o.clsBase !== undefined && o.clsBase !== '') {
    const idx = Number(o.clsBase);
    let layer: tfType.layers.Layer | undefined;
    try {
      layer = Number.isInteger(idx) ? base.layers[idx < 0 ? base.layers.length + idx : idx] : base.getLayer(o.clsBase);
    } catch {
      layer = undefined;
    }
    if (!layer) throw new TrainerError(`--cls_base: the network has no layer '${o.clsBase}'`);
    clsIn = layer.output as tfType.SymbolicTensor;
  }
  let x = tf.layers.activation({ activation: 'relu' }).apply(clsIn) as tfType.SymbolicTensor;
  x = tf.layers.batchNormalization({}).apply(x) as tfType.SymbolicTensor;
  x = tf.layers
    .dense({
      units: o.numClasses,
      activation: 'softmax',
      kernelRegularizer: tf.regularizers.l2({ l2: 5e-4 }),
      name: 'prob',
    })
    .apply(x) as tfType.SymbolicTensor;
  return { model: tf.model({ inputs: base.inputs, outputs: [out, x], name: base.name }), embeddingOutput };
}

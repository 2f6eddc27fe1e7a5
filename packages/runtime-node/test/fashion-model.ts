import * as tf from '@tensorflow/tfjs';
import { buildArchitecture, modelFromKerasConfig } from '@semembed/architectures';
import { modelWeights, writeKerasH5 } from '@semembed/trainer';

/**
 * The reference's Fashion-MNIST network (fashion-cnn, 10-d l2norm embedding + 10-class prob head) in TF.js with
 * random weights, saved as a Keras-2 .h5 by the trainer: the model the converter tests of this package start from.
 * `bnSeed` also draws the BatchNorm statistics (fresh ones are the identity, so folding them would go unchecked).
 */
export async function writeFashionCnnH5(h5: string, bnSeed?: number): Promise<tf.LayersModel> {
  await tf.setBackend('cpu');
  const cfg = buildArchitecture('fashion-cnn', {
    inputShape: [28, 28, 1],
    embeddingDim: 10,
    numClasses: 10,
    loss: 'inv_corr',
    clsWeight: 0.1,
  });
  const model = await modelFromKerasConfig(tf, cfg);
  let seed = bnSeed ?? 0;
  for (const layer of bnSeed === undefined ? [] : model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const ws = layer.getWeights();
    const n = ws[0].shape[0];
    layer.setWeights([
      ws[0],
      ws[1],
      tf.randomNormal([n], 0, 0.2, 'float32', seed++),
      tf.randomUniform([n], 0.5, 1.5, 'float32', seed++),
    ]);
  }
  await writeKerasH5(h5, { modelConfig: cfg, layers: await modelWeights(model) });
  return model;
}

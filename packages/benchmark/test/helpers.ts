import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildArchitecture, modelFromKerasConfig, weightsFromKerasNames } from '@semembed/architectures';
import { writeKerasH5 } from '@semembed/trainer';

export const tmp = (prefix = 'semembed-bm-test-'): string => mkdtempSync(join(tmpdir(), prefix));

/**
 * A small real Keras model: the Fashion-MNIST architecture (conv16, pool, conv32, pool, fc128) with an 8-d l2norm
 * embedding and a 10-class prob head, random weights, saved as a Keras-2 .h5 by the trainer. Generated per run
 * (never in git); the benchmark converts it with @semembed/converter and TF.js runs the same file.
 */
export async function tinyH5(dir: string): Promise<string> {
  tf.env().set('PROD', true); // no "install tfjs-node" banner in the test log
  await tf.setBackend('cpu');
  const config = buildArchitecture('fashion-cnn', { embeddingDim: 8, numClasses: 10, clsWeight: 0.1 });
  const model = await modelFromKerasConfig(tf, config);
  const layers = weightsFromKerasNames(model).map((l) => ({
    name: l.layer,
    weights: l.weights.map((w) => ({
      name: w.name,
      shape: w.shape,
      data: w.variable.read().dataSync().slice() as Float32Array,
    })),
  }));
  const h5 = join(dir, 'tiny.h5');
  await writeKerasH5(h5, { modelConfig: config, layers });
  model.dispose();
  return h5;
}

// Builds the benchmark models: a reference architecture in TF.js with random weights (and random
// BatchNorm statistics, so BN folding is exercised), saved as a Keras-2 .h5 by the trainer, converted
// to ONNX by the converter. Prints the max difference of ORT vs TF.js outputs on random input.
// Usage: node bench/runtime-node/prepare.mjs [fashion-cnn|resnet-110-wfc ...]   (outputs in bench/results/tmp/)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildArchitecture, modelFromKerasConfig } from '@semembed/architectures';
import { writeKerasH5, modelWeights, selectBackend } from '@semembed/trainer';
import { convertKeras } from '@semembed/converter';
import { loadModel } from '@semembed/runtime-node';

export const OUT = join(import.meta.dirname, '..', 'results', 'tmp', 'runtime-node');
export const SPECS = {
  'fashion-cnn': {
    inputShape: [28, 28, 1],
    embeddingDim: 10,
    numClasses: 10,
    dataset: undefined,
    mean: [72.94],
    std: [90.02],
  },
  'resnet-110-wfc': { inputShape: [32, 32, 3], embeddingDim: 100, numClasses: 100, dataset: 'CIFAR-100' },
  // keras.applications' ResNet-50 names with the reference's l2norm + prob heads; built on wasm (cpu takes minutes).
  'resnet-50': { inputShape: [224, 224, 3], embeddingDim: 1000, numClasses: 1000, dataset: 'ILSVRC', backend: 'wasm' },
};

export async function buildTfModel(tfx, name) {
  const s = SPECS[name];
  const cfg = buildArchitecture(name, {
    inputShape: s.inputShape,
    embeddingDim: s.embeddingDim,
    numClasses: s.numClasses,
    loss: 'inv_corr',
    clsWeight: 0.1,
  });
  const model = await modelFromKerasConfig(tfx, cfg);
  // Random BN statistics (fresh layers have mean 0 / var 1, which would hide folding mistakes).
  let seed = 1;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const ws = layer.getWeights();
    const n = ws[0].shape[0];
    layer.setWeights(
      ws.map((w, i) =>
        i === 3
          ? tfx.randomUniform([n], 0.5, 1.5, 'float32', seed++)
          : i === 2
            ? tfx.randomNormal([n], 0, 0.1, 'float32', seed++)
            : i === 0
              ? tfx.randomUniform([n], 0.8, 1.2, 'float32', seed++)
              : w,
      ),
    );
  }
  return { cfg, model };
}

export async function prepare(name) {
  mkdirSync(OUT, { recursive: true });
  if (SPECS[name].backend === 'wasm') await selectBackend('wasm');
  else await tf.setBackend('cpu');
  const { cfg, model } = await buildTfModel(tf, name);
  const h5 = join(OUT, `${name}.h5`);
  await writeKerasH5(h5, { modelConfig: cfg, layers: await modelWeights(model) });
  const onnx = join(OUT, `${name}.onnx`);
  const s = SPECS[name];
  const res = await convertKeras({
    h5,
    out: onnx,
    ...(s.dataset
      ? { dataset: s.dataset }
      : { preprocessing: { mean: s.mean, std: s.std, colorSpace: s.inputShape[2] === 1 ? 'gray' : 'rgb' } }),
  });
  const m = await loadModel(onnx, { ep: 'cpu' });
  const x = tf.randomNormal([4, ...s.inputShape], 0, 1, 'float32', 7);
  const [emb, prob] = model.predict(x);
  const ort = await m.run(x.dataSync(), 4);
  const diff = (a, b) => a.reduce((mx, v, i) => Math.max(mx, Math.abs(v - b[i])), 0);
  const embName = m.embeddingOutput.name;
  console.log(
    `${name}: ${res.nodes} nodes, folded ${res.foldedBatchNorms.length} BN; ORT vs TF.js max |diff| ` +
      `embedding ${diff(ort[embName].data, emb.dataSync()).toExponential(2)}, ` +
      `prob ${m.probOutput ? diff(ort[m.probOutput.name].data, prob.dataSync()).toExponential(2) : '-'}`,
  );
  await m.release();
  return { h5, onnx, cfg };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const name of process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(SPECS)) await prepare(name);
}

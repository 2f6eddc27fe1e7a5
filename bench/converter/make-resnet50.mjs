// Writes a ResNet-50 (keras.applications names, l2norm + cls heads, 1000 classes) Keras-2 .h5 with random
// weights: the benchmark input. Usage: node bench/converter/make-resnet50.mjs out.h5
import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import { buildArchitecture, modelFromKerasConfig, weightsFromKerasNames } from '@semembed/architectures';

const out = process.argv[2];
await tf.setBackend('cpu');
await h5wasm.ready;
const config = buildArchitecture('resnet-50', {
  embeddingDim: 1000,
  numClasses: 1000,
  clsWeight: 0.1,
  inputShape: [224, 224, 3],
});
const model = await modelFromKerasConfig(tf, config);
const f = new h5wasm.File(out, 'w');
f.create_attribute('keras_version', '2.2.4');
f.create_attribute('backend', 'tensorflow');
f.create_attribute('model_config', JSON.stringify(config));
const mw = f.create_group('model_weights');
const layers = weightsFromKerasNames(model);
mw.create_attribute(
  'layer_names',
  layers.map((l) => l.layer),
);
let params = 0;
for (const l of layers) {
  const g = mw.create_group(l.layer);
  if (l.weights.length === 0) {
    g.create_attribute('weight_names', new Float64Array(0), [0], '<d');
    continue;
  }
  g.create_attribute(
    'weight_names',
    l.weights.map((w) => w.name),
  );
  const sub = g.create_group(l.layer);
  for (const w of l.weights) {
    let data = w.variable.read().dataSync();
    // Non-trivial BN statistics, as a trained model has.
    if (/moving_variance/.test(w.name)) data = data.map(() => 0.5 + Math.random());
    if (/moving_mean/.test(w.name)) data = data.map(() => Math.random() - 0.5);
    params += data.length;
    sub.create_dataset({ name: w.name.split('/').pop(), data: Float32Array.from(data), shape: w.shape, dtype: '<f' });
  }
}
f.close();
console.log(`wrote ${out}: ${layers.length} layers, ${params} parameters`);

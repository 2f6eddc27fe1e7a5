// Writes a ResNet-50 (keras.applications names, l2norm + cls heads, 1000 classes) Keras-2 .h5 with random
// weights: the benchmark input. Usage: node bench/converter/make-resnet50.mjs out.h5
import * as tf from '@tensorflow/tfjs';
import { buildArchitecture, modelFromKerasConfig } from '@semembed/architectures';
import { writeKerasH5 } from '@semembed/formats/keras-h5';
import { modelWeights } from '@semembed/trainer';

const out = process.argv[2];
await tf.setBackend('cpu');
const config = buildArchitecture('resnet-50', {
  embeddingDim: 1000,
  numClasses: 1000,
  clsWeight: 0.1,
  inputShape: [224, 224, 3],
});
const model = await modelFromKerasConfig(tf, config);
const layers = await modelWeights(model);
let params = 0;
for (const l of layers) {
  for (const w of l.weights) {
    // Non-trivial BN statistics, as a trained model has.
    if (/moving_variance/.test(w.name)) w.data = w.data.map(() => 0.5 + Math.random());
    if (/moving_mean/.test(w.name)) w.data = w.data.map(() => Math.random() - 0.5);
    params += w.data.length;
  }
}
await writeKerasH5(out, { modelConfig: config, layers });
console.log(`wrote ${out}: ${layers.length} layers, ${params} parameters`);

// A real-sized Fashion-MNIST model for the runtime benchmarks, made the way a trained one is: the
// reference architecture (fashion-cnn, 100-d l2norm embedding + 10-class prob head) with random weights,
// saved as a Keras-2 .h5 by the trainer and converted to ONNX + sidecar by the converter.
//   node bench/runtime-web/make-model.mjs <out-folder> [architecture=fashion-cnn] [embedding-dim=100]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildArchitecture, modelFromKerasConfig } from '@semembed/architectures';
import { modelWeights, writeKerasH5 } from '@semembed/trainer';
import { convertKeras } from '@semembed/converter';
import { FASHION_MNIST_CLASSES } from '@semembed/datasets';

export async function makeModel(out, arch = 'fashion-cnn', dim = 100) {
  await tf.setBackend('cpu');
  mkdirSync(out, { recursive: true });
  const config = buildArchitecture(arch, { embeddingDim: dim, numClasses: 10, clsWeight: 0.1 });
  const model = await modelFromKerasConfig(tf, config);
  const h5 = join(out, `${arch}.h5`);
  await writeKerasH5(h5, { modelConfig: config, layers: await modelWeights(model) });
  const res = await convertKeras({
    h5,
    out: join(out, 'model.onnx'),
    preprocessing: { resize: [28, 28], crop: 'center', colorSpace: 'gray', mean: [72.94], std: [90.02] },
    classes: FASHION_MNIST_CLASSES.map((name, index) => ({ index, id: index, name })),
  });
  return { onnx: res.onnxPath, sidecar: res.sidecarPath, params: model.countParams() };
}

if (process.argv[1]?.endsWith('make-model.mjs')) {
  const [out = 'bench/results/tmp/runtime-web/model', arch, dim] = process.argv.slice(2);
  const r = await makeModel(out, arch, dim ? Number(dim) : undefined);
  console.log(`${r.onnx} (${r.params} parameters)`);
}

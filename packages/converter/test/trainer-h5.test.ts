import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildArchitecture, modelFromKerasConfig } from '@semembed/architectures';
import { writeKerasH5 as trainerWriteKerasH5 } from '@semembed/trainer';
import { compare, convertChecked, randomArray, rng, runOnnx, tfjs, tmp } from './helpers.js';
import { randomizeWeights } from './random-weights.js';

// The pipeline's hand-over: the trainer writes .h5 files (fixed-length string attributes, as Keras 2.2),
// the converter reads them. Model file and save_weights file, against the TF.js model that was saved.
describe('files written by @semembed/trainer', () => {
  it('fashion-cnn with both heads: model file and weights file convert and match TF.js', async () => {
    const tf = await tfjs();
    const config = buildArchitecture('fashion-cnn', { embeddingDim: 10, numClasses: 10, clsWeight: 0.1 });
    const model = await modelFromKerasConfig(tf, config);
    const r = rng(3);
    const layers = randomizeWeights(tf, model, r, 0.5);
    const x = randomArray(3 * 28 * 28, r, -2, 2);
    const ys = model.predict(tf.tensor(x, [3, 28, 28, 1])) as import('@tensorflow/tfjs').Tensor[];
    const ref = await Promise.all(ys.map(async (y) => (await y.data()) as Float32Array));
    const dir = tmp();
    await trainerWriteKerasH5(join(dir, 'model.h5'), { modelConfig: config, layers }, 'model');
    await trainerWriteKerasH5(join(dir, 'weights.h5'), { layers }, 'weights');
    for (const opts of [{ h5: join(dir, 'model.h5') }, { h5: join(dir, 'weights.h5'), architecture: 'fashion-cnn' }]) {
      const res = await convertChecked({ ...opts, out: join(dir, 'm.onnx') });
      expect(res.sidecar.outputs.map((o) => o.name)).toEqual(['l2norm', 'prob']);
      const got = await runOnnx(res.onnxPath, { [res.sidecar.input.name]: { data: x, shape: [3, 28, 28, 1] } });
      ['l2norm', 'prob'].forEach((n, i) => {
        const { maxAbs, scale } = compare(got[n].data, ref[i]);
        expect(maxAbs).toBeLessThanOrEqual(1e-4 * scale);
      });
    }
  });
});

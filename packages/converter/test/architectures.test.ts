import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildArchitecture,
  modelFromKerasConfig,
  weightsFromKerasNames,
  type BuildOptions,
} from '@semembed/architectures';
import { convertKeras } from '../src/index.js';
import { compare, convertChecked, randomArray, rng, runOnnx, tfjs, tmp, toNchw, writeKerasH5 } from './helpers.js';

interface ArchCase {
  name: string;
  options: BuildOptions;
  /** Concrete input (batch, H, W, C). */
  shape: number[];
  dataset?: string;
  /** Also import a save_weights copy by architecture name (skipped for the slowest networks). */
  weightsOnly?: boolean;
}

// The reference architectures with their heads: embedding (l2norm) + classification (prob).
const ARCHS: ArchCase[] = [
  {
    name: 'simple',
    options: { embeddingDim: 100, numClasses: 100, clsWeight: 0.1 },
    shape: [2, 32, 32, 3],
    dataset: 'CIFAR-100',
  },
  { name: 'resnet-32', options: { embeddingDim: 64, numClasses: 10, clsWeight: 0.1 }, shape: [2, 32, 32, 3] },
  {
    name: 'resnet-110-wfc',
    options: { embeddingDim: 100, numClasses: 100, clsWeight: 0.1 },
    shape: [2, 32, 32, 3],
    dataset: 'CIFAR-100',
  },
  {
    name: 'resnet-50',
    options: { embeddingDim: 40, numClasses: 20, clsWeight: 0.1, inputShape: [null, null, 3] },
    shape: [1, 40, 40, 3],
  },
  // The big CIFAR networks on 8x8 inputs: every layer and weight is there, tf.js on the CPU stays quick.
  {
    name: 'wrn-28-10',
    options: { embeddingDim: 100, numClasses: 100, clsWeight: 0.1, inputShape: [8, 8, 3] },
    shape: [1, 8, 8, 3],
    weightsOnly: false,
  },
  {
    name: 'pyramidnet-272-200',
    options: { embeddingDim: 100, numClasses: 100, clsWeight: 0.1, inputShape: [8, 8, 3] },
    shape: [1, 8, 8, 3],
    weightsOnly: false,
  },
  { name: 'fashion-cnn', options: { embeddingDim: 10, numClasses: 10, clsWeight: 0.1 }, shape: [3, 28, 28, 1] },
];

async function roundTrip(c: ArchCase) {
  const tf = await tfjs();
  const config = buildArchitecture(c.name, c.options);
  const model = await modelFromKerasConfig(tf, config);
  const r = rng(c.name.length * 97 + 5);
  // Fresh BatchNormalization layers are the identity; random statistics make the folding matter.
  const layers = weightsFromKerasNames(model).map((l) => ({
    name: l.layer,
    weights: l.weights.map((w) => {
      const n = w.shape.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      if (/moving_variance/.test(w.name)) data = randomArray(n, r, 0.5, 2);
      else if (/gamma/.test(w.name)) data = randomArray(n, r, 0.5, 1.5);
      else if (/(beta|moving_mean|bias)/.test(w.name)) data = randomArray(n, r, -0.3, 0.3);
      else data = (w.variable.read().dataSync() as Float32Array).slice();
      w.variable.write(tf.tensor(data, w.shape));
      return { name: w.name, shape: w.shape, data };
    }),
  }));
  const x = randomArray(
    c.shape.reduce((a, b) => a * b, 1),
    r,
    -2,
    2,
  );
  const ys = model.predict(tf.tensor(x, c.shape));
  const ref = await Promise.all((Array.isArray(ys) ? ys : [ys]).map(async (y) => (await y.data()) as Float32Array));
  return { config, layers, x, ref, outputNames: model.outputNames };
}

describe('reference architectures round-trip: config + random weights -> .h5 -> ONNX == TensorFlow.js', () => {
  for (const c of ARCHS) {
    it(
      c.name,
      async () => {
        const { config, layers, x, ref } = await roundTrip(c);
        const dir = tmp();
        const full = join(dir, 'full.h5');
        await writeKerasH5(full, config, layers);
        const res = await convertChecked({ h5: full, out: join(dir, 'full.onnx'), dataset: c.dataset });
        expect(res.sidecar.outputs.map((o) => o.name)).toEqual(['l2norm', 'prob']);
        expect(res.sidecar.outputs[0]).toMatchObject({
          kind: 'embedding',
          normalized: true,
          dim: c.options.embeddingDim,
        });
        expect(res.sidecar.outputs[1]).toMatchObject({ kind: 'probabilities', dim: c.options.numClasses });
        // ResNets put BatchNormalization right after a linear convolution: folded away. Plain-11 / fashion-cnn
        // put it after the activation, where it stays a Mul + Add.
        if (/^(resnet|wrn|pyramidnet)/.test(c.name)) expect(res.foldedBatchNorms.length).toBeGreaterThan(0);
        else expect(res.foldedBatchNorms).toEqual([]);
        const got = await runOnnx(res.onnxPath, { [res.sidecar.input.name]: { data: x, shape: c.shape } });
        ['l2norm', 'prob'].forEach((n, i) => {
          const { maxAbs, scale } = compare(got[n].data, ref[i]);
          expect(scale).toBeGreaterThan(0);
          expect(maxAbs).toBeLessThanOrEqual(1e-4 * scale);
        });

        // The same weights saved with save_weights, imported by architecture name, NCHW input.
        if (c.weightsOnly === false) return;
        const wonly = join(dir, 'weights.h5');
        await writeKerasH5(wonly, undefined, layers, true);
        const res2 = await convertChecked({
          h5: wonly,
          out: join(dir, 'w.onnx'),
          architecture: c.name,
          dataset: c.dataset,
          inputLayout: 'nchw',
          inputSize: [c.shape[1], c.shape[2]],
        });
        expect(res2.sidecar.source.architecture).toBe(c.name);
        const [n, h, w, ch] = c.shape;
        const got2 = await runOnnx(res2.onnxPath, {
          [res2.sidecar.input.name]: { data: toNchw(x, c.shape), shape: [n, ch, h, w] },
        });
        ['l2norm', 'prob'].forEach((o, i) => {
          const { maxAbs, scale } = compare(got2[o].data, ref[i]);
          expect(maxAbs).toBeLessThanOrEqual(1e-4 * scale);
        });
      },
      300_000,
    );
  }

  it('CIFAR-100 dataset sets the README preprocessing in the sidecar', async () => {
    const c = ARCHS[0];
    const { config, layers } = await roundTrip(c);
    const dir = tmp();
    const wonly = join(dir, 'weights.h5');
    await writeKerasH5(wonly, config, layers, true);
    const res = await convertKeras({
      h5: wonly,
      out: join(dir, 'm.onnx'),
      architecture: 'simple',
      dataset: 'CIFAR-100',
    });
    expect(res.sidecar.preprocessing).toEqual({
      resize: [32, 32],
      crop: 'center',
      colorSpace: 'rgb',
      mean: [129.30386353, 124.06987, 112.43356323],
      std: [68.17019653, 65.39176178, 70.4180603],
    });
    expect(res.sidecar.input).toEqual({
      name: res.sidecar.input.name,
      layout: 'NHWC',
      shape: [null, 32, 32, 3],
      dtype: 'float32',
      channels: 3,
    });
  }, 120_000);
});

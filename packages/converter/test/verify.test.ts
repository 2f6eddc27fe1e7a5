import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '@semembed/formats';
import { formatVerifyTable, verifyConversion } from '../src/index.js';
import { layerHandler, overrideLayerHandler } from '../src/layers/index.js';
import { fx, randomArray, rng, tmp, writeKerasH5 } from './helpers.js';

// A small image model with random weights and BatchNormalization statistics, checked layer by layer against TF.js.
const r = rng(21);
const layer = (class_name: string, name: string, config: Record<string, unknown>, from: string | null) => ({
  class_name,
  name,
  config: { name, ...config },
  inbound_nodes: from ? [[[from, 0, 0, {}]]] : [],
});
const config = {
  class_name: 'Model',
  config: {
    name: 'small',
    layers: [
      layer('InputLayer', 'img', { batch_input_shape: [null, 6, 6, 2], dtype: 'float32' }, null),
      layer(
        'Conv2D',
        'conv',
        { filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'linear', use_bias: true },
        'img',
      ),
      layer('BatchNormalization', 'bn', { axis: -1, epsilon: 0.001, center: true, scale: true }, 'conv'),
      layer('Activation', 'relu', { activation: 'relu' }, 'bn'),
      layer('MaxPooling2D', 'pool', { pool_size: [2, 2], strides: [2, 2], padding: 'valid' }, 'relu'),
      layer('Flatten', 'flatten', {}, 'pool'),
      layer('Dense', 'fc', { units: 8, activation: 'tanh', use_bias: true }, 'flatten'),
      layer('Dense', 'prob', { units: 3, activation: 'softmax', use_bias: true }, 'fc'),
    ],
    input_layers: [['img', 0, 0]],
    output_layers: [['prob', 0, 0]],
  },
};
const W = (name: string, shape: number[], lo = -1, hi = 1) => ({
  name,
  shape,
  data: randomArray(
    shape.reduce((a, b) => a * b, 1),
    r,
    lo,
    hi,
  ),
});
const weights = [
  { name: 'img', weights: [] },
  { name: 'conv', weights: [W('conv/kernel:0', [3, 3, 2, 4]), W('conv/bias:0', [4])] },
  {
    name: 'bn',
    weights: [
      W('bn/gamma:0', [4], 0.5, 1.5),
      W('bn/beta:0', [4]),
      W('bn/moving_mean:0', [4]),
      W('bn/moving_variance:0', [4], 0.5, 2),
    ],
  },
  { name: 'relu', weights: [] },
  { name: 'pool', weights: [] },
  { name: 'flatten', weights: [] },
  { name: 'fc', weights: [W('fc/kernel:0', [36, 8]), W('fc/bias:0', [8])] },
  { name: 'prob', weights: [W('prob/kernel:0', [8, 3]), W('prob/bias:0', [3])] },
];

async function file(): Promise<string> {
  const path = join(tmp(), 'small.h5');
  await writeKerasH5(path, config, weights);
  return path;
}

describe('--verify: ONNX Runtime vs TensorFlow.js, layer by layer', () => {
  it('a correct conversion matches at every layer (NHWC and NCHW input), folded convolutions are listed', async () => {
    const h5 = await file();
    for (const inputLayout of [undefined, 'nchw'] as const) {
      const rep = await verifyConversion({ h5, inputLayout });
      expect(rep.ok).toBe(true);
      expect(rep.firstDivergent).toBeNull();
      expect(rep.layers.map((l) => l.layer)).toEqual(['bn', 'relu', 'pool', 'flatten', 'fc', 'prob']);
      expect(rep.skipped).toEqual([{ layer: 'conv', reason: 'folded into the weights with bn' }]);
      for (const l of rep.layers) {
        expect(l.relative, l.layer).toBeLessThan(1e-5);
        expect(l.cosine, l.layer).toBeGreaterThan(0.99999);
      }
      expect(formatVerifyTable(rep)).toMatch(/all 6 layer outputs match TensorFlow\.js within 0\.0001 relative/);
    }
  });

  it('a deliberately wrong Flatten (channels-first element order) is caught at flatten, not before', async () => {
    const h5 = await file();
    const restore = overrideLayerHandler('Flatten', (cx) => {
      const x = cx.one();
      // Wrong on purpose: flattens in NCHW order, as a converter that forgets Keras's NHWC order would.
      const t = cx.b.toPerm(x, [0, 3, 1, 2]);
      const name = cx.b.node('Flatten', [t.name], cx.base, { axis: { int: 1 } })[0];
      return [{ name, shape: [x.shape[0], 36], perm: [0, 1], elemType: x.elemType }];
    });
    try {
      const rep = await verifyConversion({ h5 });
      expect(rep.ok).toBe(false);
      expect(rep.firstDivergent).toBe('flatten');
      const byName = Object.fromEntries(rep.layers.map((l) => [l.layer, l]));
      for (const ok of ['bn', 'relu', 'pool']) expect(byName[ok].diverges, ok).toBe(false);
      expect(byName.flatten.diverges).toBe(true);
      expect(byName.flatten.relative).toBeGreaterThan(1e-2);
      const table = formatVerifyTable(rep);
      expect(table).toMatch(/^flatten .*<== first divergence$/m);
      expect(table).toMatch(/layer 'flatten' is the first to differ/);
    } finally {
      restore();
    }
    expect(layerHandler('Flatten')).not.toBeUndefined();
  });

  it('--inputs takes the inputs from .npy; a model TF.js cannot build is refused with the reason', async () => {
    const h5 = await file();
    const npy = join(tmp(), 'x.npy');
    writeNpy(npy, { data: randomArray(3 * 6 * 6 * 2, rng(5)), shape: [3, 6, 6, 2] });
    const rep = await verifyConversion({ h5, inputs: [npy] });
    expect(rep.inputs).toEqual([{ name: 'img', shape: [3, 6, 6, 2], source: npy }]);
    expect(rep.ok).toBe(true);
    await expect(verifyConversion({ h5, inputs: [npy, npy] })).rejects.toThrow(
      /--inputs: the model has 1 input\(s\), 2 \.npy file\(s\) given/,
    );
    const lam = {
      class_name: 'Model',
      config: {
        name: 'lam',
        layers: [
          layer('InputLayer', 'x', { batch_input_shape: [null, 3], dtype: 'float32' }, null),
          {
            ...layer(
              'Lambda',
              'l2norm',
              { function: ['4wEAAA==', null, null], function_type: 'lambda', arguments: {} },
              'x',
            ),
          },
        ],
        input_layers: [['x', 0, 0]],
        output_layers: [['l2norm', 0, 0]],
      },
    };
    const p = join(tmp(), 'lam.h5');
    await writeKerasH5(p, lam, [
      { name: 'x', weights: [] },
      { name: 'l2norm', weights: [] },
    ]);
    // The reference's l2norm Lambda runs in TF.js by name too; a class TF.js does not know is refused.
    expect((await verifyConversion({ h5: p })).ok).toBe(true);
    const odd = JSON.parse(JSON.stringify(lam).replace('"class_name":"Lambda"', '"class_name":"ChannelPadding"'));
    const q = join(tmp(), 'odd.h5');
    await writeKerasH5(q, odd, [
      { name: 'x', weights: [] },
      { name: 'l2norm', weights: [] },
    ]);
    await expect(verifyConversion({ h5: q })).rejects.toThrow(/--verify: TensorFlow\.js cannot build this Keras model/);
  });
});

describe('--verify on real files with Lambda layers (TF.js runs them through the expression language)', () => {
  it('dl4j deepfm (tf.keras 2.2.4, Python 3.7 Lambdas, one called 3 times) and model_lambda (Python 2.7)', async () => {
    const deepfm = await verifyConversion({ h5: fx('dl4j__deepfm.h5') });
    expect(deepfm.ok).toBe(true);
    expect(deepfm.layers).toHaveLength(31);
    const calls = deepfm.layers.filter((l) => l.layer === 'sum_of_tensors').map((l) => l.node);
    expect(calls).toEqual([0, 1, 2]);
    expect(deepfm.layers.filter((l) => l.className === 'Lambda').every((l) => l.cosine > 0.99999)).toBe(true);
    const lam = await verifyConversion({ h5: fx('dl4j__lambda__model_lambda.h5') });
    expect(lam.ok).toBe(true);
    expect(lam.layers.map((l) => `${l.layer}:${l.className}`)).toEqual([
      'dense_3:Dense',
      'lambda_3:Lambda',
      'lambda_4:Lambda',
      'dense_4:Dense',
    ]);
  });
});

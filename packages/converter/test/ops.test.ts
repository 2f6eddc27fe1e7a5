import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertKeras } from '../src/index.js';
import { compare, convertChecked, randomArray, rng, runOnnx, tmp, writeKerasH5 } from './helpers.js';
import { kerasInput, kerasLayer, kerasModel } from './keras-config.js';

// Layer options TF.js cannot run (ReLU negative_slope / threshold, ELU alpha != 1, Softmax on a middle axis,
// Subtract), checked against the formulas computed here, in a config written the way Keras 3 writes it
// (module / registered_name, batch_shape, inbound nodes as {args: [__keras_tensor__ ...]}).
const r = rng(9);
const K1 = randomArray(6 * 4, r);
const B1 = randomArray(4, r);
const K2 = randomArray(6 * 4, r);
const B2 = randomArray(4, r);

const t = (layer: string, shape: (number | null)[]) => ({
  class_name: '__keras_tensor__',
  config: { shape, dtype: 'float32', keras_history: [layer, 0, 0] },
});
const layer = (class_name: string, name: string, config: Record<string, unknown>, args: unknown[]) => ({
  module: 'keras.layers',
  class_name,
  config: {
    name,
    trainable: true,
    dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' } },
    ...config,
  },
  registered_name: null,
  name,
  inbound_nodes: args.length ? [{ args, kwargs: {} }] : [],
});

const config = {
  module: 'keras.src.models.functional',
  class_name: 'Functional',
  config: {
    name: 'ops',
    layers: [
      layer('InputLayer', 'x', { batch_shape: [null, 6] }, []),
      layer('Dense', 'd1', { units: 4, activation: 'linear', use_bias: true }, [t('x', [null, 6])]),
      layer('Dense', 'd2', { units: 4, activation: 'linear', use_bias: true }, [t('x', [null, 6])]),
      layer('ReLU', 'relu', { max_value: 1.5, negative_slope: 0.2, threshold: 0.3 }, [t('d1', [null, 4])]),
      layer('ELU', 'elu', { alpha: 0.7 }, [t('d1', [null, 4])]),
      layer('Subtract', 'sub', {}, [[t('d1', [null, 4]), t('d2', [null, 4])]]),
      layer('Reshape', 'rs', { target_shape: [2, 2] }, [t('sub', [null, 4])]),
      layer('Softmax', 'sm', { axis: 1 }, [t('rs', [null, 2, 2])]),
    ],
    input_layers: [['x', 0, 0]],
    output_layers: [
      ['relu', 0, 0],
      ['elu', 0, 0],
      ['sm', 0, 0],
    ],
  },
};

const weights = [
  { name: 'x', weights: [] },
  {
    name: 'd1',
    weights: [
      { name: 'd1/kernel:0', shape: [6, 4], data: K1 },
      { name: 'd1/bias:0', shape: [4], data: B1 },
    ],
  },
  {
    name: 'd2',
    weights: [
      { name: 'd2/kernel:0', shape: [6, 4], data: K2 },
      { name: 'd2/bias:0', shape: [4], data: B2 },
    ],
  },
  ...['relu', 'elu', 'sub', 'rs', 'sm'].map((name) => ({ name, weights: [] })),
];

function dense(x: Float32Array, n: number, K: Float32Array, B: Float32Array): number[][] {
  return Array.from({ length: n }, (_, s) =>
    [0, 1, 2, 3].map((j) => B[j] + [0, 1, 2, 3, 4, 5].reduce((a, i) => a + x[s * 6 + i] * K[i * 4 + j], 0)),
  );
}

describe('Keras 3 config form; ReLU / ELU / Softmax / Subtract options by formula; opsets 13..21', () => {
  const x = randomArray(5 * 6, rng(2), -2, 2);
  const h1 = dense(x, 5, K1, B1);
  const h2 = dense(x, 5, K2, B2);
  const relu = h1.flat().map((v) => Math.min(1.5, v >= 0.3 ? v : 0.2 * (v - 0.3)));
  const elu = h1.flat().map((v) => (v > 0 ? v : 0.7 * (Math.exp(v) - 1)));
  const sm = h1.flatMap((row, s) => {
    const d = row.map((v, j) => v - h2[s][j]); // [[d0, d1], [d2, d3]], softmax over axis 1 (the rows)
    const out = new Array(4);
    for (const col of [0, 1]) {
      const a = Math.exp(d[col]);
      const b = Math.exp(d[2 + col]);
      out[col] = a / (a + b);
      out[2 + col] = b / (a + b);
    }
    return out;
  });

  for (const opset of [13, 17, 18, 21]) {
    it(`opset ${opset}`, async () => {
      const dir = tmp();
      await writeKerasH5(join(dir, 'ops.h5'), config, weights);
      const res = await convertChecked({ h5: join(dir, 'ops.h5'), out: join(dir, 'ops.onnx'), opset });
      const got = await runOnnx(res.onnxPath, { x: { data: x, shape: [5, 6] } });
      expect(compare(got.relu.data, relu).maxAbs).toBeLessThan(1e-5);
      expect(compare(got.elu.data, elu).maxAbs).toBeLessThan(1e-5);
      expect(got.sm.dims).toEqual([5, 2, 2]);
      expect(compare(got.sm.data, sm).maxAbs).toBeLessThan(1e-5);
    });
  }

  it('l2norm at opset 18+ (ReduceSumSquare takes axes as an input there)', async () => {
    const l2 = kerasModel(
      'l2',
      [
        kerasInput('x', [null, 6]),
        kerasLayer('Dense', 'd1', { units: 4, activation: 'linear' }, ['x']),
        kerasLayer('Lambda', 'l2norm', { function: ['4wEAAA==', null, null], function_type: 'lambda' }, ['d1']),
      ],
      ['x'],
      ['l2norm'],
    );
    const want = h1.flatMap((row) => {
      const n = Math.sqrt(
        Math.max(
          row.reduce((a, v) => a + v * v, 0),
          1e-12,
        ),
      );
      return row.map((v) => v / n);
    });
    for (const opset of [17, 18, 21]) {
      const dir = tmp();
      await writeKerasH5(join(dir, 'l2.h5'), l2, weights.slice(0, 2).concat([{ name: 'l2norm', weights: [] }]));
      const res = await convertKeras({ h5: join(dir, 'l2.h5'), out: join(dir, 'l2.onnx'), opset });
      expect(res.sidecar.outputs).toEqual([{ name: 'l2norm', kind: 'embedding', dim: 4, normalized: true }]);
      const got = await runOnnx(res.onnxPath, { x: { data: x, shape: [5, 6] } });
      expect(compare(got.l2norm.data, want).maxAbs).toBeLessThan(1e-6);
    }
  });
});

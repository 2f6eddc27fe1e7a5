import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compare, convertChecked, randomArray, rng, runOnnx, tmp, writeKerasH5 } from './helpers.js';

// Keras 2.2 layouts of nested models, written the way Keras writes them: the nested model is one entry of
// layer_names, its group lists the inner layers' weights as '<inner layer>/<weight>:0'.
const r = rng(42);
const W = {
  d1k: randomArray(3 * 4, r),
  d1b: randomArray(4, r),
  d2k: randomArray(4 * 2, r),
  d2b: randomArray(2, r),
  outk: randomArray(2, r),
  outb: randomArray(1, r),
};
const dense = (name: string, units: number, activation: string, extra: Record<string, unknown> = {}) => ({
  class_name: 'Dense',
  config: { name, units, activation, use_bias: true, ...extra },
});
const inner = {
  class_name: 'Sequential',
  config: { name: 'seq', layers: [dense('d1', 4, 'relu', { batch_input_shape: [null, 3] }), dense('d2', 2, 'tanh')] },
};
const weights = [
  { name: 'inp', weights: [] },
  {
    name: 'seq',
    weights: [
      { name: 'd1/kernel:0', shape: [3, 4], data: W.d1k },
      { name: 'd1/bias:0', shape: [4], data: W.d1b },
      { name: 'd2/kernel:0', shape: [4, 2], data: W.d2k },
      { name: 'd2/bias:0', shape: [2], data: W.d2b },
    ],
  },
  {
    name: 'out',
    weights: [
      { name: 'out/kernel:0', shape: [2, 1], data: W.outk },
      { name: 'out/bias:0', shape: [1], data: W.outb },
    ],
  },
];

/** The same computation written out: out = sigmoid(tanh(relu(x·K1 + b1)·K2 + b2)·K3 + b3). */
function expected(x: Float32Array, n: number): Float32Array {
  const y = new Float32Array(n);
  for (let s = 0; s < n; s++) {
    const h = [0, 1, 2, 3].map((j) =>
      Math.max(0, W.d1b[j] + [0, 1, 2].reduce((a, i) => a + x[s * 3 + i] * W.d1k[i * 4 + j], 0)),
    );
    const g = [0, 1].map((j) => Math.tanh(W.d2b[j] + h.reduce((a, v, i) => a + v * W.d2k[i * 2 + j], 0)));
    y[s] = 1 / (1 + Math.exp(-(W.outb[0] + g[0] * W.outk[0] + g[1] * W.outk[1])));
  }
  return y;
}

describe('nested models', () => {
  const x = randomArray(5 * 3, rng(1), -2, 2);

  it('a Sequential inside a functional Model', async () => {
    const config = {
      class_name: 'Model',
      config: {
        name: 'outer',
        layers: [
          {
            class_name: 'InputLayer',
            name: 'inp',
            config: { name: 'inp', batch_input_shape: [null, 3], dtype: 'float32' },
            inbound_nodes: [],
          },
          { ...inner, name: 'seq', inbound_nodes: [[['inp', 0, 0, {}]]] },
          { ...dense('out', 1, 'sigmoid'), name: 'out', inbound_nodes: [[['seq', 1, 0, {}]]] },
        ],
        input_layers: [['inp', 0, 0]],
        output_layers: [['out', 0, 0]],
      },
    };
    // Keras numbers the nested model's call inside the outer model as node 1 (node 0 is its own graph).
    config.config.layers[1].inbound_nodes = [[], [['inp', 0, 0, {}]]] as never;
    const dir = tmp();
    await writeKerasH5(join(dir, 'm.h5'), config, weights);
    const res = await convertChecked({ h5: join(dir, 'm.h5'), out: join(dir, 'm.onnx') });
    const got = await runOnnx(res.onnxPath, { inp: { data: x, shape: [5, 3] } });
    const { maxAbs } = compare(got.out.data, expected(x, 5));
    expect(maxAbs).toBeLessThan(1e-6);
  });

  it('a Sequential inside a Sequential (input shape from the inner model)', async () => {
    const config = { class_name: 'Sequential', config: { name: 'outer', layers: [inner, dense('out', 1, 'sigmoid')] } };
    const dir = tmp();
    await writeKerasH5(join(dir, 'm.h5'), config, weights.slice(1));
    const res = await convertChecked({ h5: join(dir, 'm.h5'), out: join(dir, 'm.onnx') });
    expect(res.sidecar.input.name).toBe('seq_input');
    const got = await runOnnx(res.onnxPath, { seq_input: { data: x, shape: [5, 3] } });
    const { maxAbs } = compare(got.out.data, expected(x, 5));
    expect(maxAbs).toBeLessThan(1e-6);
  });
});

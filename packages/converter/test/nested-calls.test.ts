import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compare, convertChecked, randomArray, rng, runOnnx, tmp, writeKerasH5 } from './helpers.js';

// Nested models called as layers, in the numbering each Keras version writes: Keras 2.0-2.13 and tf.keras count
// the calls of a nested model built on an Input from 1 (node 0, its construction, is not saved); Keras 3 does
// the same for Functional models; Sequential models built without an input shape count from 0.
const r = rng(7);
type W = { k: Float32Array; b: Float32Array; in: number; out: number; act: 'relu' | 'tanh' | 'sigmoid' | 'linear' };
const dense = (n: number, m: number, act: W['act']): W => ({
  k: randomArray(n * m, r),
  b: randomArray(m, r),
  in: n,
  out: m,
  act,
});
const D1 = dense(3, 4, 'relu');
const D2 = dense(4, 2, 'tanh');
const MID = dense(2, 2, 'linear');
const OUT = dense(2, 1, 'sigmoid');

const ACT = {
  relu: (v: number) => Math.max(0, v),
  tanh: Math.tanh,
  sigmoid: (v: number) => 1 / (1 + Math.exp(-v)),
  linear: (v: number) => v,
};
/** Hand computation of one Dense layer on a batch (row-major [n, in] -> [n, out]). */
function applyDense(w: W, x: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n * w.out);
  for (let s = 0; s < n; s++) {
    for (let j = 0; j < w.out; j++) {
      let a = w.b[j];
      for (let i = 0; i < w.in; i++) a += x[s * w.in + i] * w.k[i * w.out + j];
      y[s * w.out + j] = ACT[w.act](a);
    }
  }
  return y;
}
const tower = (x: Float32Array, n: number) => applyDense(D2, applyDense(D1, Float64Array.from(x), n), n);

const k2Dense = (name: string, w: W, inbound: unknown[]) => ({
  class_name: 'Dense',
  name,
  config: { name, units: w.out, activation: w.act, use_bias: true },
  inbound_nodes: inbound,
});
const k2Input = (name: string, n: number) => ({
  class_name: 'InputLayer',
  name,
  config: { name, batch_input_shape: [null, n], dtype: 'float32' },
  inbound_nodes: [],
});
/** The tower as Keras 2.2 / tf.keras write a functional model (calls of inner layers count from 0). */
const k2Tower = (inbound: unknown[]) => ({
  class_name: 'Model',
  name: 'tower',
  config: {
    name: 'tower',
    layers: [k2Input('t_in', 3), k2Dense('d1', D1, [[['t_in', 0, 0, {}]]]), k2Dense('d2', D2, [[['d1', 0, 0, {}]]])],
    input_layers: [['t_in', 0, 0]],
    output_layers: [['d2', 0, 0]],
  },
  inbound_nodes: inbound,
});
const wts = (prefix: string, name: string, w: W) => [
  { name: `${prefix}${name}/kernel:0`, shape: [w.in, w.out], data: w.k },
  { name: `${prefix}${name}/bias:0`, shape: [w.out], data: w.b },
];
const towerWeights = [...wts('', 'd1', D1), ...wts('', 'd2', D2)];

const N = 4;
const xa = randomArray(N * 3, rng(1), -2, 2);
const xb = randomArray(N * 3, rng(2), -2, 2);
const xc = randomArray(N * 3, rng(3), -2, 2);

async function convert(config: unknown, layers: Parameters<typeof writeKerasH5>[2]) {
  const dir = tmp();
  await writeKerasH5(join(dir, 'm.h5'), config, layers);
  const res = await convertChecked({ h5: join(dir, 'm.h5'), out: join(dir, 'm.onnx') });
  return res;
}

function expectClose(got: Float32Array, want: Float64Array): void {
  const { maxAbs, scale } = compare(got, want);
  expect(got.length).toBe(want.length);
  expect(maxAbs).toBeLessThanOrEqual(1e-5 * Math.max(scale, 1));
}

describe('nested models called as layers', () => {
  it('siamese, Keras 2.2 numbering (calls 1 and 2): both towers share one set of weights', async () => {
    const config = {
      class_name: 'Model',
      config: {
        name: 'siamese',
        layers: [
          k2Input('a', 3),
          k2Input('b', 3),
          k2Tower([[['a', 0, 0, {}]], [['b', 0, 0, {}]]]),
          {
            class_name: 'Subtract',
            name: 'diff',
            config: { name: 'diff' },
            inbound_nodes: [
              [
                ['tower', 1, 0, {}],
                ['tower', 2, 0, {}],
              ],
            ],
          },
          k2Dense('out', OUT, [[['diff', 0, 0, {}]]]),
        ],
        input_layers: [
          ['a', 0, 0],
          ['b', 0, 0],
        ],
        output_layers: [['out', 0, 0]],
      },
    };
    const res = await convert(config, [
      { name: 'a', weights: [] },
      { name: 'b', weights: [] },
      { name: 'tower', weights: towerWeights },
      { name: 'diff', weights: [] },
      { name: 'out', weights: wts('', 'out', OUT) },
    ]);
    const got = await runOnnx(res.onnxPath, { a: { data: xa, shape: [N, 3] }, b: { data: xb, shape: [N, 3] } });
    const ta = tower(xa, N);
    const tb = tower(xb, N);
    const want = applyDense(
      OUT,
      ta.map((v, i) => v - tb[i]),
      N,
    );
    expectClose(got.out.data, want);
    // 4 tower tensors (not 8) + 2 of 'out'.
    expect(res.initializers).toBe(4 + 2);
  });

  it('triplet, tf.keras numbering (calls 1..3) with the three tower outputs as model outputs', async () => {
    const config = {
      class_name: 'Functional',
      config: {
        name: 'triplet',
        layers: [
          k2Input('anchor', 3),
          k2Input('pos', 3),
          k2Input('neg', 3),
          { ...k2Tower([[['anchor', 0, 0, {}]], [['pos', 0, 0, {}]], [['neg', 0, 0, {}]]]), class_name: 'Functional' },
        ],
        input_layers: [
          ['anchor', 0, 0],
          ['pos', 0, 0],
          ['neg', 0, 0],
        ],
        output_layers: [
          ['tower', 1, 0],
          ['tower', 2, 0],
          ['tower', 3, 0],
        ],
      },
    };
    const res = await convert(config, [
      { name: 'anchor', weights: [] },
      { name: 'pos', weights: [] },
      { name: 'neg', weights: [] },
      { name: 'tower', weights: towerWeights },
    ]);
    const got = await runOnnx(res.onnxPath, {
      anchor: { data: xa, shape: [N, 3] },
      pos: { data: xb, shape: [N, 3] },
      neg: { data: xc, shape: [N, 3] },
    });
    expect(Object.keys(got).sort()).toEqual(['tower_0', 'tower_1', 'tower_2']);
    expectClose(got.tower_0.data, tower(xa, N));
    expectClose(got.tower_1.data, tower(xb, N));
    expectClose(got.tower_2.data, tower(xc, N));
  });

  it('a nested model inside a nested model, each called from 1', async () => {
    const mid = {
      class_name: 'Model',
      name: 'mid',
      config: {
        name: 'mid',
        layers: [k2Input('m_in', 3), k2Tower([[['m_in', 0, 0, {}]]]), k2Dense('m_out', MID, [[['tower', 1, 0, {}]]])],
        input_layers: [['m_in', 0, 0]],
        output_layers: [['m_out', 0, 0]],
      },
      inbound_nodes: [[['inp', 0, 0, {}]]],
    };
    const config = {
      class_name: 'Model',
      config: {
        name: 'outer',
        layers: [k2Input('inp', 3), mid, k2Dense('out', OUT, [[['mid', 1, 0, {}]]])],
        input_layers: [['inp', 0, 0]],
        output_layers: [['out', 0, 0]],
      },
    };
    const res = await convert(config, [
      { name: 'inp', weights: [] },
      { name: 'mid', weights: [...towerWeights, ...wts('', 'm_out', MID)] },
      { name: 'out', weights: wts('', 'out', OUT) },
    ]);
    const got = await runOnnx(res.onnxPath, { inp: { data: xa, shape: [N, 3] } });
    expectClose(got.out.data, applyDense(OUT, applyDense(MID, tower(xa, N), N), N));
  });

  it('Keras 3 config form (__keras_tensor__ histories), Functional called from 1, Sequential from 0', async () => {
    const kt = (layer: string, node: number) => ({
      class_name: '__keras_tensor__',
      config: { shape: [null, 3], dtype: 'float32', keras_history: [layer, node, 0] },
    });
    const call = (...ts: unknown[]) => ({ args: ts.length === 1 ? ts : [ts], kwargs: {} });
    const k3Dense = (name: string, w: W, inbound: unknown[]) => ({
      module: 'keras.layers',
      class_name: 'Dense',
      config: { name, units: w.out, activation: w.act, use_bias: true },
      inbound_nodes: inbound,
    });
    const k3Input = (name: string) => ({
      module: 'keras.layers',
      class_name: 'InputLayer',
      config: { name, batch_shape: [null, 3], dtype: 'float32' },
      inbound_nodes: [],
    });
    const towerK3 = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: {
        name: 'tower',
        layers: [k3Input('t_in'), k3Dense('d1', D1, [call(kt('t_in', 0))]), k3Dense('d2', D2, [call(kt('d1', 0))])],
        input_layers: [['t_in', 0, 0]],
        output_layers: [['d2', 0, 0]],
      },
      inbound_nodes: [call(kt('a', 0)), call(kt('b', 0))],
    };
    // A Sequential head without an input shape: Keras 3 counts its calls from 0.
    const head = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        name: 'head',
        layers: [
          {
            module: 'keras.layers',
            class_name: 'Dense',
            config: { name: 'h1', units: 1, activation: 'sigmoid', use_bias: true },
          },
        ],
      },
      inbound_nodes: [call(kt('tower', 1)), call(kt('tower', 2))],
    };
    const config = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: {
        name: 'siamese3',
        layers: [
          k3Input('a'),
          k3Input('b'),
          towerK3,
          head,
          {
            module: 'keras.layers',
            class_name: 'Add',
            config: { name: 'sum' },
            inbound_nodes: [call(kt('head', 0), kt('head', 1))],
          },
        ],
        input_layers: [
          ['a', 0, 0],
          ['b', 0, 0],
        ],
        output_layers: [['sum', 0, 0]],
      },
    };
    const H = dense(2, 1, 'sigmoid');
    const res = await convert(config, [
      { name: 'a', weights: [] },
      { name: 'b', weights: [] },
      { name: 'tower', weights: towerWeights },
      { name: 'head', weights: wts('', 'h1', H) },
      { name: 'sum', weights: [] },
    ]);
    const got = await runOnnx(res.onnxPath, { a: { data: xa, shape: [N, 3] }, b: { data: xb, shape: [N, 3] } });
    const ha = applyDense(H, tower(xa, N), N);
    const hb = applyDense(H, tower(xb, N), N);
    expectClose(
      got.sum.data,
      ha.map((v, i) => v + hb[i]),
    );
  });

  it('a call the config does not hold is refused with the layer and the number of saved calls', async () => {
    const config = {
      class_name: 'Model',
      config: {
        name: 'bad',
        layers: [k2Input('a', 3), k2Tower([[['a', 0, 0, {}]]]), k2Dense('out', OUT, [[['tower', 3, 0, {}]]])],
        input_layers: [['a', 0, 0]],
        output_layers: [['out', 0, 0]],
      },
    };
    await expect(
      convert(config, [
        { name: 'a', weights: [] },
        { name: 'tower', weights: towerWeights },
        { name: 'out', weights: wts('', 'out', OUT) },
      ]),
    ).rejects.toThrow(/layer 'tower' \(Model\) has no inbound tensors for call 3 \(the config saves 1 call of it\)/);
  });
});

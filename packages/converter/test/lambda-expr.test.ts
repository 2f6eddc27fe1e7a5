import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertKeras, verifyConversion } from '../src/index.js';
import { formatExpr, parseExpr } from '../src/lambda/expr.js';
import { compare, convertChecked, randomArray, rng, runOnnx, tfjs, tmp, toNchw, writeKerasH5 } from './helpers.js';

// Lambda layers given by --lambda kinds and expressions, against TF.js ops on the same inputs (fake quant, which
// TF.js lacks, against TF's formula written out here). The Lambda's code is a placeholder: the mapping decides.
const input = (name: string, shape: (number | null)[]) => ({
  class_name: 'InputLayer',
  name,
  config: { name, batch_input_shape: shape, dtype: 'float32' },
  inbound_nodes: [],
});
const lam = (name: string, from: string[], args: Record<string, unknown> = {}) => ({
  class_name: 'Lambda',
  name,
  config: { name, function: ['4wEAAA==', null, null], function_type: 'lambda', output_shape: null, arguments: args },
  inbound_nodes: [from.map((f) => [f, 0, 0, {}])],
});
function model(inputs: [string, (number | null)[]][], lambdas: ReturnType<typeof lam>[]) {
  return {
    class_name: 'Model',
    config: {
      name: 'lambdas',
      layers: [...inputs.map(([n, s]) => input(n, s)), ...lambdas],
      input_layers: inputs.map(([n]) => [n, 0, 0]),
      output_layers: lambdas.map((l) => [l.name, 0, 0]),
    },
  };
}

async function convertRun(
  config: unknown,
  lambdas: Record<string, string>,
  feeds: Record<string, { data: Float32Array; shape: number[] }>,
  inputLayout?: 'nchw',
  crossCheck = true,
) {
  const dir = tmp();
  const layers = (config as { config: { layers: { name: string }[] } }).config.layers.map((l) => ({
    name: l.name,
    weights: [],
  }));
  await writeKerasH5(join(dir, 'm.h5'), config, layers);
  const res = await convertChecked({ h5: join(dir, 'm.h5'), out: join(dir, 'm.onnx'), lambdas, inputLayout });
  if (crossCheck) {
    // The same expressions evaluated by --verify's TF.js implementation of the language, layer by layer.
    const rep = await verifyConversion({ h5: join(dir, 'm.h5'), lambdas, inputLayout });
    expect(rep.ok, rep.firstDivergent ?? '').toBe(true);
    expect(rep.layers.length).toBe(Object.keys(lambdas).length);
  }
  return runOnnx(res.onnxPath, feeds);
}

function expectClose(
  got: { data: Float32Array; dims: number[] },
  want: { data: ArrayLike<number>; shape: number[] },
  what: string,
): void {
  expect(got.dims, what).toEqual(want.shape);
  const { maxAbs, scale } = compare(got.data, want.data);
  expect(maxAbs, what).toBeLessThanOrEqual(1e-5 * Math.max(scale, 1));
}

describe('the expression language', () => {
  it('parses Python-like expressions with module prefixes, keywords, lists and indexing', () => {
    expect(
      formatExpr(parseExpr('K.sqrt(K.maximum(K.sum(K.square(x[0] - x[1]), axis=1, keepdims=True), K.epsilon()))')),
    ).toBe('sqrt(maximum(sum(square((x[0] - x[1])), axis=1, keepdims=True), epsilon()))');
    expect(formatExpr(parseExpr('tf.concat([x0, -x1 * 2.5e-1], axis=-1)'))).toBe(
      'concatenate([x0, (-x1 * 0.25)], axis=-1)',
    );
    expect(formatExpr(parseExpr('x[:, 0] ** 2 + x[..., 1:3:2][None]'))).toBe('((x[:, 0] ** 2) + x[..., 1:3:2][None])');
    expect(() => parseExpr('x + * 2')).toThrow(/unexpected '\*' at column 5/);
    expect(() => parseExpr('sum(x, axis=1')).toThrow(/expected ',' at the end/);
    expect(() => parseExpr('x $ 2')).toThrow(/unexpected '\$' at column 3/);
  });
});

describe('Lambda layers with several inputs', () => {
  it('--lambda kinds and expr: over x0, x1, x2 match TF.js', async () => {
    const tf = await tfjs();
    const N = 3;
    const D = 5;
    const a = randomArray(N * D, rng(1), -2, 2);
    const b = randomArray(N * D, rng(2), -2, 2);
    const c = randomArray(N * D, rng(3), -2, 2);
    const kinds: Record<string, [string[], string]> = {
      absdiff: [['a', 'b'], 'abs_diff'],
      dist: [['a', 'b'], 'euclidean_distance'],
      diff: [['a', 'b'], 'sub'],
      sum3: [['a', 'b', 'c'], 'add'],
      prod: [['a', 'b'], 'multiply'],
      cat: [['a', 'b', 'c'], 'concat'],
      cos: [['a', 'b'], 'cosine_similarity'],
      ex: [['a', 'b'], 'expr:"x[0] * 2 - K.maximum(x[1], 0.5) / x1"'],
      args: [['a', 'b'], 'expr:x0 * k + offset'],
    };
    const config = model(
      [
        ['a', [null, D]],
        ['b', [null, D]],
        ['c', [null, D]],
      ],
      Object.entries(kinds).map(([n, [from]]) => lam(n, from, n === 'args' ? { k: 3, offset: -0.25 } : {})),
    );
    const got = await convertRun(config, Object.fromEntries(Object.entries(kinds).map(([n, [, k]]) => [n, k])), {
      a: { data: a, shape: [N, D] },
      b: { data: b, shape: [N, D] },
      c: { data: c, shape: [N, D] },
    });
    const [ta, tb, tc] = [a, b, c].map((v) => tf.tensor2d(v, [N, D]));
    const want: Record<string, import('@tensorflow/tfjs').Tensor> = {
      absdiff: tf.abs(tf.sub(ta, tb)),
      dist: tf.sqrt(tf.maximum(tf.sum(tf.square(tf.sub(ta, tb)), 1, true), 1e-7)),
      diff: tf.sub(ta, tb),
      sum3: tf.add(tf.add(ta, tb), tc),
      prod: tf.mul(ta, tb),
      cat: tf.concat([ta, tb, tc], -1),
      cos: tf.sum(tf.mul(tf.div(ta, tf.norm(ta, 2, 1, true)), tf.div(tb, tf.norm(tb, 2, 1, true))), 1, true),
      ex: tf.sub(tf.mul(ta, 2), tf.div(tf.maximum(tb, 0.5), tb)),
      args: tf.add(tf.mul(ta, 3), -0.25),
    };
    for (const [n, t] of Object.entries(want)) expectClose(got[n], { data: await t.data(), shape: t.shape }, n);
  });

  it('a wrong-arity kind, a bad expression and an unknown function are refused before writing', async () => {
    const config = model(
      [
        ['a', [null, 4]],
        ['b', [null, 4]],
      ],
      [lam('pair', ['a', 'b'])],
    );
    for (const [kind, msg] of [
      ['l2norm', /--lambda pair=l2norm: kind 'l2norm' takes one input, the layer has 2/],
      ['expr:x0 +', /--lambda pair=expr:x0 \+: unexpected end of expression/],
      [
        'expr:frobnicate(x0)',
        /layer 'pair' \(Lambda\): --lambda pair=expr:frobnicate\(x0\): function 'frobnicate' is not supported/,
      ],
      ['expr:x0 - y', /unknown name 'y' \(known: x0, x1, x\)/],
      ['nonsense', /--lambda pair=nonsense: unknown kind \(one input: identity/],
    ] as const) {
      const dir = tmp();
      await writeKerasH5(join(dir, 'm.h5'), config, [
        { name: 'a', weights: [] },
        { name: 'b', weights: [] },
        { name: 'pair', weights: [] },
      ]);
      const p = convertKeras({ h5: join(dir, 'm.h5'), out: join(dir, 'm.onnx'), lambdas: { pair: kind } });
      await expect(p).rejects.toThrow(msg);
      expect(readdirSync(dir)).toEqual(['m.h5']);
    }
  });
});

describe('Lambda layers that are not element-wise', () => {
  it('reductions, slicing, concat, expand/squeeze, softmax, l2_normalize on NCHW-fed images match TF.js', async () => {
    const tf = await tfjs();
    const shape = [2, 4, 5, 3];
    const x = randomArray(2 * 4 * 5 * 3, rng(5), -2, 2);
    const exprs: Record<string, string> = {
      sum_c: 'K.sum(x, axis=-1)',
      mean_hw: 'K.mean(x, axis=[1, 2])',
      max_h: 'K.max(x, axis=1, keepdims=True)',
      first_row: 'x[:, 0]',
      chans: 'x[..., 1:3]',
      flip: 'x[:, ::-1, 1:, -1]',
      cat: 'K.concatenate([x, x * 2], axis=-1)',
      expand: 'K.expand_dims(K.min(x, axis=-1), 1)',
      squeeze: 'K.squeeze(K.max(x, axis=2, keepdims=True), 2)',
      smax: 'K.softmax(x, axis=1)',
      l2: 'K.l2_normalize(x, axis=-1)',
      mix: 'tf.nn.relu6(x * 4) - K.round(x * 3) / 3 + K.clip(x, -0.5, 0.5)',
    };
    const config = model(
      [['img', [null, 4, 5, 3]]],
      Object.keys(exprs).map((n) => lam(n, ['img'])),
    );
    const lambdas = Object.fromEntries(Object.entries(exprs).map(([n, e]) => [n, `expr:${e}`]));
    const got = await convertRun(config, lambdas, { img: { data: toNchw(x, shape), shape: [2, 3, 4, 5] } }, 'nchw');
    const t = tf.tensor4d(x, shape as [number, number, number, number]);
    const want: Record<string, import('@tensorflow/tfjs').Tensor> = {
      sum_c: tf.sum(t, -1),
      mean_hw: tf.mean(t, [1, 2]),
      max_h: tf.max(t, 1, true),
      first_row: tf.squeeze(tf.slice(t, [0, 0, 0, 0], [-1, 1, -1, -1]), [1]),
      chans: tf.slice(t, [0, 0, 0, 1], [-1, -1, -1, 2]),
      flip: tf.squeeze(tf.slice(tf.reverse(t, 1), [0, 0, 1, 2], [-1, -1, -1, 1]), [3]),
      cat: tf.concat([t, tf.mul(t, 2)], -1),
      expand: tf.expandDims(tf.min(t, -1), 1),
      squeeze: tf.squeeze(tf.max(t, 2, true), [2]),
      smax: tf.softmax(tf.transpose(t, [0, 2, 3, 1])).transpose([0, 3, 1, 2]),
      l2: tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), -1, true), 1e-12))),
      mix: tf.add(
        tf.sub(tf.clipByValue(tf.mul(t, 4), 0, 6), tf.div(tf.round(tf.mul(t, 3)), 3)),
        tf.clipByValue(t, -0.5, 0.5),
      ),
    };
    for (const [n, w] of Object.entries(want)) expectClose(got[n], { data: await w.data(), shape: w.shape }, n);
  });

  it('fake quantisation (fake_quant_with_min_max_vars) follows TF: nudged range, clip, round half up', async () => {
    const N = 64;
    const x = Float32Array.from({ length: N }, (_, i) => -1.3 + (i * 3) / N);
    const config = model([['v', [null, N]]], [lam('fq', ['v']), lam('fq4', ['v'])]);
    const got = await convertRun(
      config,
      {
        fq: 'expr:tf.quantization.fake_quant_with_min_max_vars(x, -1.0, 1.5, num_bits=8)',
        fq4: 'expr:fake_quant(x, min=-0.7, max=0.9, num_bits=4, narrow_range=True)',
      },
      { v: { data: x, shape: [1, N] } },
      undefined,
      false, // TF.js has no fake-quant op; checked against the formula below
    );
    // TF's FakeQuantWithMinMaxVars kernel (fake_quant_ops_functor.h), in float32.
    const ref = (min: number, max: number, bits: number, narrow: boolean): Float32Array => {
      const f = Math.fround;
      const qmin = narrow ? 1 : 0;
      const qmax = 2 ** bits - 1;
      const scale = f(f(max - min) / (qmax - qmin));
      const zp0 = f(qmin - f(min / scale));
      const zp = zp0 < qmin ? qmin : zp0 > qmax ? qmax : Math.round(zp0);
      const lo = f((qmin - zp) * scale);
      const hi = f((qmax - zp) * scale);
      return x.map((v) => f(Math.floor(f(f(Math.min(Math.max(v, lo), hi) - lo) * f(1 / scale)) + 0.5) * scale + lo));
    };
    expectClose(got.fq, { data: ref(-1, 1.5, 8, false), shape: [1, N] }, 'fq');
    expectClose(got.fq4, { data: ref(-0.7, 0.9, 4, true), shape: [1, N] }, 'fq4');
    // 4 bits narrow: at most 15 levels.
    expect(new Set(got.fq4.data).size).toBeLessThanOrEqual(15);
  });
});

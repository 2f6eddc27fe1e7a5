import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertKeras } from '../src/index.js';
import { readLambdaCode } from '../src/lambda/bytecode.js';
import { formatExpr } from '../src/lambda/expr.js';
import { readLambdaConfig } from '../src/lambda/index.js';
import { compare, convertChecked, randomArray, rng, runOnnx, tfjs, tmp, writeKerasH5 } from './helpers.js';

interface Entry {
  version: string;
  name: string;
  source: string;
  code: string;
}
const ENTRIES: Entry[] = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'lambda-code', 'lambdas.json'), 'utf8'),
);
const bytes = (e: Entry): Uint8Array => new Uint8Array(Buffer.from(e.code, 'base64'));
const READABLE = ENTRIES.filter((e) => e.name !== 'shape' && e.name !== 'where');
const EXPECT: Record<string, string> = {
  l2norm: 'l2_normalize(x, axis=-1)',
  euclid: 'sqrt(maximum(sum(square((x[0] - x[1])), axis=1, keepdims=True), epsilon()))',
  slice: '((x[:, 0] * 2) + 1)',
};
const TABLE: Record<string, string> = {
  '2.7': '2.7',
  '3.6': '3.6-3.7',
  '3.8': '3.8-3.10',
  '3.10': '3.8-3.10',
  '3.11': '3.11',
  '3.12': '3.12',
};

const lambdaLayer = (name: string, code: string | Record<string, unknown>, from: string[]) => ({
  class_name: 'Lambda',
  name,
  config: {
    name,
    function: typeof code === 'string' ? [code, null, null] : code,
    function_type: 'lambda',
    output_shape: null,
    arguments: {},
  },
  inbound_nodes: [from.map((f) => [f, 0, 0, {}])],
});
const input = (name: string, n: number) => ({
  class_name: 'InputLayer',
  name,
  config: { name, batch_input_shape: [null, n], dtype: 'float32' },
  inbound_nodes: [],
});
const model = (layers: unknown[], outputs: string[]) => ({
  class_name: 'Model',
  config: {
    name: 'm',
    layers: [input('a', 5), input('b', 5), ...layers],
    input_layers: [
      ['a', 0, 0],
      ['b', 0, 0],
    ],
    output_layers: outputs.map((o) => [o, 0, 0]),
  },
});
const weightsOf = (m: ReturnType<typeof model>) =>
  m.config.layers.map((l) => ({ name: (l as { name: string }).name, weights: [] }));

describe('Lambda bytecode of each Python version, read without running it', () => {
  it('marshal + disassembly + pattern match give the same expression for 2.7, 3.6, 3.8, 3.10, 3.11 and 3.12', () => {
    expect(new Set(READABLE.map((e) => e.version))).toEqual(new Set(Object.keys(TABLE)));
    for (const e of READABLE) {
      const r = readLambdaCode({ code: bytes(e) });
      expect([r.version, r.expr && formatExpr(r.expr)], `${e.version} ${e.name}`).toEqual([
        TABLE[e.version],
        EXPECT[e.name],
      ]);
      expect(r.disassembly).toMatch(/RETURN_VALUE/);
    }
  });

  it('models with those Lambdas (no --lambda) match TF.js, in the Keras 2 and the Keras 3 config form', async () => {
    const tf = await tfjs();
    const layers = READABLE.map((e, i) => {
      const name = `${e.name}_${e.version.replace('.', '')}`;
      const code =
        i % 2 ? e.code : { class_name: '__lambda__', config: { code: e.code, defaults: null, closure: null } };
      return lambdaLayer(name, code, e.name === 'euclid' ? ['a', 'b'] : ['a']);
    });
    const m = model(
      layers,
      layers.map((l) => l.name),
    );
    const dir = tmp();
    await writeKerasH5(join(dir, 'm.h5'), m, weightsOf(m));
    const res = await convertChecked({ h5: join(dir, 'm.h5'), out: join(dir, 'm.onnx') });
    const N = 4;
    const a = randomArray(N * 5, rng(3), -2, 2);
    const b = randomArray(N * 5, rng(4), -2, 2);
    const got = await runOnnx(res.onnxPath, { a: { data: a, shape: [N, 5] }, b: { data: b, shape: [N, 5] } });
    const ta = tf.tensor2d(a, [N, 5]);
    const tb = tf.tensor2d(b, [N, 5]);
    const want = {
      l2norm: tf.div(ta, tf.sqrt(tf.maximum(tf.sum(tf.square(ta), -1, true), 1e-12))),
      euclid: tf.sqrt(tf.maximum(tf.sum(tf.square(tf.sub(ta, tb)), 1, true), 1e-7)),
      slice: tf.add(tf.mul(tf.squeeze(tf.slice(ta, [0, 0], [-1, 1]), [1]), 2), 1),
    };
    for (const l of layers) {
      const w = want[l.name.split('_')[0] as keyof typeof want];
      expect(got[l.name].dims, l.name).toEqual(w.shape);
      const { maxAbs, scale } = compare(got[l.name].data, await w.data());
      expect(maxAbs, l.name).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
    }
  });

  it('unmatched code: the error names the layer, prints the disassembly, offers --lambda, which works', async () => {
    for (const e of ENTRIES.filter((x) => x.name === 'shape' || x.name === 'where')) {
      const m = model([lambdaLayer('odd', e.code, ['a'])], ['odd']);
      const dir = tmp();
      await writeKerasH5(join(dir, 'm.h5'), m, weightsOf(m));
      const p = convertKeras({ h5: join(dir, 'm.h5'), out: join(dir, 'm.onnx') });
      await expect(p).rejects.toThrow(
        /layer 'odd' \(Lambda\): the Lambda's code cannot be read as a known form \(Python 3\.11 bytecode with/,
      );
      await expect(p).rejects.toThrow(/say what it computes with --lambda odd=KIND/);
      await expect(p).rejects.toThrow(
        e.name === 'where' ? /\n\s+\d+ COMPARE_OP/ : /\n\s+\d+ LOAD_ATTR\s+\d+ \(shape\)/,
      );
      const ok = await convertKeras({ h5: join(dir, 'm.h5'), out: join(dir, 'm.onnx'), lambdas: { odd: 'relu' } });
      expect(ok.nodes).toBeGreaterThan(0);
    }
  });

  it('named functions and unreadable code: l2norm by name, others refused with the reason', () => {
    expect(readLambdaConfig({ function: 'l2norm', function_type: 'function', module: 'utils' }).source).toBe(
      'l2_normalize(x, axis=-1)',
    );
    expect(readLambdaConfig({ function: 'my_fn', function_type: 'function', module: 'utils' }).problem).toMatch(
      /calls the function 'my_fn' of module 'utils' by name/,
    );
    expect(readLambdaConfig({ function: ['4wEAAA==', null, null], function_type: 'lambda' }).problem).toMatch(
      /not a marshalled code object/,
    );
  });
});

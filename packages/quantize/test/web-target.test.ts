import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DataType,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  readModel,
  writeModel,
} from '@semembed/onnx';
import { foldAffine, MAX_SPREAD, quantizeModel } from '../src/index.js';
import { maxAbsDiff, onnxCheck, run, tmp, uniform } from './helpers.js';

// The `target: 'web'` int8 form on a model shaped like fashion-cnn (BatchNormalization after each ReLU, left by the
// converter as per-channel Mul + Add): exact affine folds, then int8 that onnxruntime-node and onnxruntime-web's
// wasm build (in Node) both run and agree on.

const N = 4;
const SHAPE = [N, 28, 28, 1];

/** fashion-cnn's layout with random weights: conv 1->8, conv 8->16 (3x3, same), dense 784->32, embedding 32->10. */
function fashionLike(scale1: number[] = [1.5, 0.7, 2, 1.1, 0.9, 3, 1.2, 0.6]): Uint8Array {
  const t = (name: string, dims: number[], data: Float32Array | number[]) =>
    makeTensor(name, DataType.FLOAT, dims, data);
  const g = makeGraph({
    name: 'fashion-like',
    inputs: [makeValueInfo('x', DataType.FLOAT, ['N', 28, 28, 1])],
    outputs: [makeValueInfo('emb', DataType.FLOAT, ['N', 10])],
    initializers: [
      t('W1', [8, 1, 3, 3], uniform(72, -0.6, 0.6, 1)),
      t('B1', [8], uniform(8, -0.1, 0.1, 2)),
      t('s1', [1, 8, 1, 1], scale1),
      t('b1', [1, 8, 1, 1], uniform(8, -1, -0.2, 3)),
      t('W3', [16, 8, 3, 3], uniform(1152, -0.2, 0.2, 4)),
      t('B3', [16], uniform(16, -0.1, 0.1, 5)),
      t('s3', [1, 16, 1, 1], uniform(16, 0.5, 3, 6)),
      t('b3', [1, 16, 1, 1], uniform(16, -0.9, -0.2, 7)),
      t('W5', [784, 32], uniform(784 * 32, -0.06, 0.06, 8)),
      t('B5', [32], uniform(32, -0.1, 0.1, 9)),
      t('s5', [1, 32], uniform(32, 0.3, 2, 10)),
      t('b5', [1, 32], uniform(32, -1, 0.2, 11)),
      t('W6', [32, 10], uniform(320, -0.4, 0.4, 12)),
      t('B6', [10], uniform(10, -0.1, 0.1, 13)),
    ],
    nodes: [
      makeNode('Transpose', ['x'], ['xt'], { attributes: { perm: [0, 3, 1, 2] } }),
      makeNode('Conv', ['xt', 'W1', 'B1'], ['c1'], { attributes: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } }),
      makeNode('Relu', ['c1'], ['r1']),
      makeNode('Mul', ['r1', 's1'], ['m1']),
      makeNode('Add', ['m1', 'b1'], ['a1']),
      makeNode('MaxPool', ['a1'], ['p1'], { attributes: { kernel_shape: [2, 2], strides: [2, 2] } }),
      makeNode('Conv', ['p1', 'W3', 'B3'], ['c3'], { attributes: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } }),
      makeNode('Relu', ['c3'], ['r3']),
      makeNode('Mul', ['r3', 's3'], ['m3']),
      makeNode('Add', ['m3', 'b3'], ['a3']),
      makeNode('MaxPool', ['a3'], ['p3'], { attributes: { kernel_shape: [2, 2], strides: [2, 2] } }),
      makeNode('Transpose', ['p3'], ['p3t'], { attributes: { perm: [0, 2, 3, 1] } }),
      makeNode('Flatten', ['p3t'], ['f']),
      makeNode('Gemm', ['f', 'W5', 'B5'], ['g5']),
      makeNode('Relu', ['g5'], ['r5']),
      makeNode('Mul', ['r5', 's5'], ['m5']),
      makeNode('Add', ['m5', 'b5'], ['a5']),
      makeNode('Gemm', ['a5', 'W6', 'B6'], ['emb']),
    ],
  });
  return writeModel(makeModel({ graph: g, opset: 13 }));
}

const images = (n: number, seed: number) => uniform(n * 784, 0, 2, seed);
const ops = (bytes: Uint8Array) => readModel(bytes).graph!.node.map((n) => n.opType ?? '');

async function runWeb(bytes: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const require = createRequire(import.meta.url);
  const ort = (await import(require.resolve('onnxruntime-web'))) as typeof import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  try {
    const r = await s.run({ x: new ort.Tensor('float32', x, SHAPE) });
    return Float32Array.from(r.emb.data as Float32Array);
  } finally {
    await s.release();
  }
}

let x: Float32Array;
let ref: Float32Array;
beforeAll(async () => {
  x = images(N, 21);
  ref = (await run(fashionLike(), x, SHAPE)).emb;
});

describe('foldAffine: exact folds of BatchNormalization-after-ReLU affines', () => {
  it('folds every Mul and Add of fashion-cnn into the weights (one Add moves behind its pool)', async () => {
    const m = readModel(fashionLike());
    const n = foldAffine(m);
    const bytes = writeModel(m);
    const got = (await run(bytes, x, SHAPE)).emb;
    // Same math in another order: float32 rounding only (outputs are O(1)).
    expect(maxAbsDiff(got, ref)).toBeLessThan(1e-4);
    const o = ops(bytes);
    expect(o.filter((t) => t === 'Mul')).toHaveLength(0);
    // The first block's Add (its reader's reader is a padded Conv) only moves behind the MaxPool.
    expect(o.filter((t) => t === 'Add')).toHaveLength(1);
    expect(o.indexOf('Add')).toBe(o.indexOf('MaxPool') + 1);
    expect(n).toBe(6);
  });

  it('scales more than MAX_SPREAD apart stay a float Mul (moved behind the pool), same outputs', async () => {
    const bytes = fashionLike([0.2, 0.7, 2, 1.1, 0.9, 3, 1.2, 0.6]);
    const m = readModel(bytes);
    foldAffine(m);
    const folded = writeModel(m);
    const o = ops(folded);
    expect(MAX_SPREAD).toBe(8);
    expect(o.filter((t) => t === 'Mul')).toHaveLength(1);
    expect(o.slice(o.indexOf('MaxPool'), o.indexOf('MaxPool') + 3)).toEqual(['MaxPool', 'Mul', 'Add']);
    const a = (await run(bytes, x, SHAPE)).emb;
    expect(maxAbsDiff((await run(folded, x, SHAPE)).emb, a)).toBeLessThan(1e-4);
  });

  it('nodes named in nodesToExclude are left as they are: nothing folded into, out of or past them', async () => {
    const m = readModel(fashionLike());
    // Unnamed nodes are OpType#index: the first affine's Mul, the second conv, the second pool.
    const n = foldAffine(m, ['Mul#3', 'Conv#6', 'MaxPool#10']);
    const bytes = writeModel(m);
    expect(maxAbsDiff((await run(bytes, x, SHAPE)).emb, ref)).toBeLessThan(1e-4);
    const named = (s: string) => m.graph!.node.find((k) => k.name === s)!;
    expect(named('Mul#3').input).toEqual(['r1', 's1']);
    expect(named('Conv#6').input).toEqual(['p1', 'W3', 'B3']); // the second block's Mul is not folded into it
    expect(named('MaxPool#10').input).toEqual(['a3']); // nor its affine moved past the pool
    const o = ops(bytes);
    expect(o.filter((t) => t === 'Mul')).toHaveLength(2);
    expect(n).toBeGreaterThanOrEqual(2); // the dense block's affine still folds into its Gemms
    expect(() => foldAffine(readModel(fashionLike()), ['Conv#99'])).toThrow(/no node named 'Conv#99'/);
  });

  it('a negative scale after a ReLU is not folded backward nor moved through the pool', async () => {
    const bytes = fashionLike([1.5, -0.7, 2, 1.1, 0.9, 3, 1.2, 0.6]);
    const m = readModel(bytes);
    foldAffine(m);
    const folded = writeModel(m);
    const o = ops(folded);
    expect(o.filter((t) => t === 'Mul')).toHaveLength(1);
    expect(o.indexOf('Mul')).toBe(o.indexOf('Relu') + 1);
    const a = (await run(bytes, x, SHAPE)).emb;
    expect(maxAbsDiff((await run(folded, x, SHAPE)).emb, a)).toBeLessThan(1e-4);
  });
});

describe("int8 target 'web'", () => {
  let web: Uint8Array;
  let info: Record<string, unknown>;
  beforeAll(async () => {
    const r = await quantizeModel(fashionLike(), {
      mode: 'int8',
      target: 'web',
      calibration: [{ data: images(32, 5), n: 32 }],
    });
    web = r.bytes;
    info = r.info;
  });

  it('passes onnx.checker; the first conv (depth 9) stays float, no float affine between int8 ops', async () => {
    const dir = tmp();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'web.onnx'), web);
    onnxCheck(join(dir, 'web.onnx'));
    expect(info.target).toBe('web');
    expect(info.skipped).toEqual(['Conv#1: kept float for the web target']);
    expect(info.int8Weights).toBe(3);
    const o = ops(web);
    expect(o.filter((t) => t === 'Mul')).toHaveLength(0);
    expect(o.filter((t) => t === 'Add')).toHaveLength(1); // float, right after the first (float) pool
    expect(o[o.indexOf('Add') + 1]).toBe('QuantizeLinear');
  });

  it('onnxruntime-node and onnxruntime-web (wasm) run it and agree with fp32 and with each other', async () => {
    const node = (await run(web, x, SHAPE)).emb;
    const wasm = await runWeb(web, x);
    const d = maxAbsDiff(node, ref);
    console.log(
      `web int8: max|Δ| vs fp32 ${d.toExponential(2)} (|emb| max ${Math.max(...ref.map(Math.abs)).toFixed(2)})`,
    );
    // Activation steps of ~1/255 of each range through 4 layers (measured ~2e-2 on outputs of magnitude ~3).
    expect(d).toBeLessThan(0.1);
    expect(d).toBeGreaterThan(0);
    // Both runtimes do the same integer arithmetic; only the float requantisation may round differently.
    expect(maxAbsDiff(wasm, node)).toBeLessThan(0.02);
  });

  it('onnxruntime fuses it: QLinearConv / QGemm, the first conv as a float Conv', async () => {
    const optimized = join(tmp(), 'web.optimized.onnx');
    await run(web, x, SHAPE, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized });
    const { readFileSync } = await import('node:fs');
    const o = ops(readFileSync(optimized));
    expect(o.filter((t) => t === 'QLinearConv')).toHaveLength(1);
    expect(o.filter((t) => t === 'QGemm')).toHaveLength(2);
    expect(o.some((t) => t === 'Conv' || t === 'FusedConv')).toBe(true);
  });
});

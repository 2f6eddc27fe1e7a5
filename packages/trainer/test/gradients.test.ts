import { describe, it, expect, beforeAll } from 'vitest';
import { selectBackend, type Tf } from '../src/backend.js';
import { relErr } from './helpers.js';

// Every gradient the fast wasm kernels produce is compared with the cpu backend's reference kernels.

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}
function randArr(n: number, seed: number, quant = 0): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = quant ? Math.round(r() * quant) / quant : r();
  return a;
}
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

let tf: Tf;
beforeAll(async () => {
  tf = (await selectBackend('wasm')).tf;
});

type Case = { name: string; shapes: number[][]; quant?: number; f: (tf: Tf, ...xs: any[]) => any };

async function gradsOn(backend: string, c: Case): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = c.shapes.map((s, i) => tf.tensor(randArr(size(s), 11 + i, c.quant), s));
    const fn = (...args: any[]) => {
      const y = c.f(tf, ...args);
      const w = tf.tensor(randArr(size(y.shape), 99), y.shape);
      return tf.sum(tf.mul(y, w));
    };
    const gs = tf.grads(fn)(xs);
    return gs.map((g) => g.dataSync() as Float32Array);
  });
}


const conv = (shape: number[], f: number[], strides: number, pad: 'same' | 'valid'): Case => ({
  name: `conv2d x${shape} k${f} s${strides} ${pad}`,
  shapes: [shape, f],
  f: (tf, x, k) => tf.conv2d(x, k, strides, pad),
});

const cases: Case[] = [
  conv([2, 7, 9, 3], [3, 3, 3, 4], 1, 'same'),
  conv([2, 7, 9, 3], [3, 3, 3, 4], 1, 'valid'),
  conv([2, 8, 8, 3], [3, 3, 3, 5], 2, 'same'),
  conv([2, 9, 7, 2], [3, 3, 2, 4], 2, 'same'),
  conv([2, 9, 7, 2], [3, 3, 2, 4], 2, 'valid'),
  conv([3, 6, 6, 4], [1, 1, 4, 6], 1, 'same'),
  conv([1, 10, 10, 1], [5, 5, 1, 8], 1, 'same'),
  conv([2, 8, 8, 2], [2, 2, 2, 3], 1, 'same'),
  conv([2, 9, 9, 2], [4, 4, 2, 3], 2, 'same'),
  {
    name: 'fused conv2d + bias + relu',
    shapes: [[2, 6, 6, 3], [3, 3, 3, 4], [4]],
    f: (tf, x, k, b) => tf.fused.conv2d({ x, filter: k, strides: 1, pad: 'same', bias: b, activation: 'relu' }),
  },
  { name: 'dense matMul', shapes: [[5, 7], [7, 3]], f: (tf, a, b) => tf.matMul(a, b) },
  { name: 'matMul transposeA', shapes: [[7, 5], [7, 3]], f: (tf, a, b) => tf.matMul(a, b, true, false) },
  { name: 'matMul transposeB', shapes: [[5, 7], [3, 7]], f: (tf, a, b) => tf.matMul(a, b, false, true) },
  { name: 'batched matMul transpose both', shapes: [[2, 7, 5], [2, 3, 7]], f: (tf, a, b) => tf.matMul(a, b, true, true) },
  {
    name: 'fused dense + bias + relu',
    shapes: [[4, 6], [6, 5], [5]],
    f: (tf, a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'relu' }),
  },
  { name: 'maxPool 2x2 s2', shapes: [[2, 8, 8, 3]], f: (tf, x) => tf.maxPool(x, 2, 2, 'valid') },
  { name: 'maxPool 2x2 s2 with ties', shapes: [[2, 8, 8, 3]], quant: 2, f: (tf, x) => tf.maxPool(x, 2, 2, 'valid') },
  { name: 'maxPool 3x3 s2 same, odd size', shapes: [[2, 7, 9, 2]], quant: 3, f: (tf, x) => tf.maxPool(x, 3, 2, 'same') },
  { name: 'avgPool 2x2 s2', shapes: [[2, 8, 8, 3]], f: (tf, x) => tf.avgPool(x, 2, 2, 'valid') },
  { name: 'avgPool 2x2 s2, odd size (last row/column unused)', shapes: [[2, 7, 9, 3]], f: (tf, x) => tf.avgPool(x, 2, 2, 'valid') },
  { name: 'avgPool 2x2 s2 same, odd size (padded: original kernel)', shapes: [[2, 7, 9, 3]], f: (tf, x) => tf.avgPool(x, 2, 2, 'same') },
  { name: 'avgPool 3x3 s1 same', shapes: [[2, 5, 5, 2]], f: (tf, x) => tf.avgPool(x, 3, 1, 'same') },
  { name: 'global average pool (mean)', shapes: [[2, 5, 5, 4]], f: (tf, x) => tf.mean(x, [1, 2]) },
  { name: 'per-channel mean and sum (leading axes)', shapes: [[3, 4, 5, 6]], f: (tf, x) => tf.add(tf.mean(x, [0, 1, 2]), tf.mul(tf.sum(x, [0, 1, 2], true), 0.5)) },
  { name: 'sum over all axes and over the last axis', shapes: [[3, 4, 5]], f: (tf, x) => tf.add(tf.sum(tf.square(x)), tf.sum(tf.mean(x, -1))) },
  { name: 'broadcastTo (Tile)', shapes: [[1, 1, 6]], f: (tf, x) => tf.add(tf.sum(tf.square(tf.broadcastTo(x, [4, 5, 6])), -1), tf.sum(tf.square(tf.broadcastTo(tf.reshape(x, [6, 1]), [6, 3])))) },
  {
    name: 'batch norm (training statistics)',
    shapes: [[6, 3, 3, 4], [4], [4]],
    f: (tf, x, gamma, beta) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
    },
  },
  {
    name: 'l2 normalisation',
    shapes: [[4, 6]],
    f: (tf, x) => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12))),
  },
];

describe('wasm gradients match the cpu backend', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const ref = await gradsOn('cpu', c);
      const got = await gradsOn('wasm', c);
      expect(got.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) {
        expect(got[i].length).toBe(ref[i].length);
        // a zero gradient would pass a relative check vacuously
        expect(Math.max(...Array.from(ref[i], Math.abs))).toBeGreaterThan(1e-3);
        expect(relErr(got[i], ref[i])).toBeLessThanOrEqual(1e-4);
      }
    });
  }

  it('per-channel reductions and broadcasts (forward) match cpu', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(randArr(3 * 4 * 5 * 6, 1), [3, 4, 5, 6]);
        const v = tf.tensor1d(randArr(6, 2));
        const v4 = tf.reshape(v, [1, 1, 1, 6]);
        return [
          tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2], true), tf.sum(x, [0]), tf.mean(x, [1, 0]), tf.sum(x, -1), tf.mean(x),
          tf.mul(x, v), tf.mul(v4, x), tf.add(x, v), tf.sub(x, v4), tf.sub(v, x), tf.add(tf.reshape(x, [60, 6]), v),
          tf.broadcastTo(v4, [3, 4, 5, 6]), tf.tile(tf.reshape(v, [1, 6]), [7, 1]), tf.tile(tf.reshape(v, [6, 1]), [2, 3]),
        ].map((t) => [t.shape, Array.from(t.dataSync())]);
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    for (let i = 0; i < ref.length; i++) {
      expect(got[i][0]).toEqual(ref[i][0]);
      expect(relErr(Float32Array.from(got[i][1] as number[]), Float32Array.from(ref[i][1] as number[]))).toBeLessThanOrEqual(1e-6);
    }
  });

  it('registers the replacement kernels on wasm', async () => {
    const choice = await selectBackend('wasm');
    expect(choice.fastKernels).toEqual(
      expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'MaxPoolGrad', 'AvgPoolGrad', 'Sum', 'Mean', 'Multiply']),
    );
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
});

describe('a whole layers model (conv, BN in training mode, max-pool, dense, l2norm loss)', () => {
  async function modelGrads(backend: string): Promise<Map<string, Float32Array>> {
    await tf.setBackend(backend);
    const seedInit = (seed: number) => tf.initializers.glorotUniform({ seed });
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [10, 10, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: seedInit(1) }),
        tf.layers.batchNormalization(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: seedInit(2) }),
        tf.layers.batchNormalization(),
        tf.layers.flatten(),
        tf.layers.dense({ units: 5, kernelInitializer: seedInit(3) }),
      ],
    });
    const out = new Map<string, Float32Array>();
    tf.tidy(() => {
      const x = tf.tensor4d(randArr(4 * 10 * 10 * 2, 5), [4, 10, 10, 2]);
      const t = tf.tensor2d(randArr(4 * 5, 6), [4, 5]);
      const vars = m.trainableWeights.map((w) => (w as unknown as { read(): any }).read());
      const { grads } = tf.variableGrads(() => {
        const y = m.apply(x, { training: true }) as any;
        const n = tf.div(y, tf.sqrt(tf.sum(tf.square(y), -1, true)));
        return tf.mean(tf.sub(1, tf.sum(tf.mul(n, t), -1))) as any;
      }, vars);
      // variable names get a per-model suffix; key by position
      vars.forEach((v: any, i: number) => out.set(`${i}:${m.trainableWeights[i].originalName.replace(/\d+/g, '')}`, grads[v.name].dataSync() as Float32Array));
    });
    m.dispose();
    return out;
  }
  it('every trainable variable', async () => {
    const ref = await modelGrads('cpu');
    const got = await modelGrads('wasm');
    expect([...got.keys()]).toEqual([...ref.keys()]);
    for (const [k, r] of ref) {
      expect(relErr(got.get(k)!, r), k).toBeLessThanOrEqual(1e-4);
    }
    expect(ref.size).toBe(10);
  });
});

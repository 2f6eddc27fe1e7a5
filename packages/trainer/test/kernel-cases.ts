// Kernel cases shared by the wasm and webgpu gradient tests: each is a small function of tensors whose
// gradients (through a fixed random weighting of its output) are compared with the cpu backend's.
import type { Tf } from '../src/backend.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}
export function randArr(n: number, seed: number, quant = 0): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = quant ? Math.round(r() * quant) / quant : r();
  return a;
}
export const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Gradients of sum(f(xs) * w) with respect to every input, on `backend` (read asynchronously: webgpu cannot read sync). */
export async function gradsOn(tf: Tf, backend: string, c: Case): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const gs = tf.tidy(() => {
    const xs = c.shapes.map((s, i) => tf.tensor(randArr(size(s), 11 + i, c.quant), s));
    const fn = (...args: any[]) => {
      const y = c.f(tf, ...args);
      const w = tf.tensor(randArr(size(y.shape), 99), y.shape);
      return tf.sum(tf.mul(y, w));
    };
    return tf.grads(fn)(xs);
  });
  const out = await Promise.all(gs.map(async (g: { data(): Promise<unknown> }) => (await g.data()) as Float32Array));
  tf.dispose(gs);
  return out;
}

export type Case = { name: string; shapes: number[][]; quant?: number; f: (tf: Tf, ...xs: any[]) => any };

const conv = (shape: number[], f: number[], strides: number, pad: 'same' | 'valid'): Case => ({
  name: `conv2d x${shape} k${f} s${strides} ${pad}`,
  shapes: [shape, f],
  f: (tf, x, k) => tf.conv2d(x, k, strides, pad),
});

export const cases: Case[] = [
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
  {
    name: 'dense matMul',
    shapes: [
      [5, 7],
      [7, 3],
    ],
    f: (tf, a, b) => tf.matMul(a, b),
  },
  {
    name: 'matMul transposeA',
    shapes: [
      [7, 5],
      [7, 3],
    ],
    f: (tf, a, b) => tf.matMul(a, b, true, false),
  },
  {
    name: 'matMul transposeB',
    shapes: [
      [5, 7],
      [3, 7],
    ],
    f: (tf, a, b) => tf.matMul(a, b, false, true),
  },
  {
    name: 'batched matMul transpose both',
    shapes: [
      [2, 7, 5],
      [2, 3, 7],
    ],
    f: (tf, a, b) => tf.matMul(a, b, true, true),
  },
  {
    name: 'fused dense + bias + relu',
    shapes: [[4, 6], [6, 5], [5]],
    f: (tf, a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'relu' }),
  },
  { name: 'relu with exact zeros (step at 0)', shapes: [[4, 6, 5]], quant: 2, f: (tf, x) => tf.relu(x) },
  { name: 'maxPool 2x2 s2', shapes: [[2, 8, 8, 3]], f: (tf, x) => tf.maxPool(x, 2, 2, 'valid') },
  { name: 'maxPool 2x2 s2 with ties', shapes: [[2, 8, 8, 3]], quant: 2, f: (tf, x) => tf.maxPool(x, 2, 2, 'valid') },
  {
    name: 'maxPool 3x3 s2 same, odd size',
    shapes: [[2, 7, 9, 2]],
    quant: 3,
    f: (tf, x) => tf.maxPool(x, 3, 2, 'same'),
  },
  { name: 'avgPool 2x2 s2', shapes: [[2, 8, 8, 3]], f: (tf, x) => tf.avgPool(x, 2, 2, 'valid') },
  {
    name: 'avgPool 2x2 s2, odd size (last row/column unused)',
    shapes: [[2, 7, 9, 3]],
    f: (tf, x) => tf.avgPool(x, 2, 2, 'valid'),
  },
  {
    name: 'avgPool 2x2 s2 same, odd size (padded: original kernel)',
    shapes: [[2, 7, 9, 3]],
    f: (tf, x) => tf.avgPool(x, 2, 2, 'same'),
  },
  { name: 'avgPool 3x3 s1 same', shapes: [[2, 5, 5, 2]], f: (tf, x) => tf.avgPool(x, 3, 1, 'same') },
  { name: 'global average pool (mean)', shapes: [[2, 5, 5, 4]], f: (tf, x) => tf.mean(x, [1, 2]) },
  {
    name: 'per-channel mean and sum (leading axes)',
    shapes: [[3, 4, 5, 6]],
    f: (tf, x) => tf.add(tf.mean(x, [0, 1, 2]), tf.mul(tf.sum(x, [0, 1, 2], true), 0.5)),
  },
  {
    name: 'sum over all axes and over the last axis',
    shapes: [[3, 4, 5]],
    f: (tf, x) => tf.add(tf.sum(tf.square(x)), tf.sum(tf.mean(x, -1))),
  },
  {
    name: 'broadcastTo (Tile)',
    shapes: [[1, 1, 6]],
    f: (tf, x) =>
      tf.add(
        tf.sum(tf.square(tf.broadcastTo(x, [4, 5, 6])), -1),
        tf.sum(tf.square(tf.broadcastTo(tf.reshape(x, [6, 1]), [6, 3]))),
      ),
  },
  {
    name: 'batch norm (training statistics)',
    shapes: [[6, 3, 3, 4], [4], [4]],
    f: (tf, x, gamma, beta) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
    },
  },
  {
    // KerasSGD's global-norm clipping sums one square per weight tensor: more inputs than a shader can bind on webgpu.
    name: 'addN of 12 tensors (global norm of many weights)',
    shapes: Array.from({ length: 12 }, (_, i) => [3 + (i % 2), 5]),
    // squared, so that the gradients depend on the forward sum too
    f: (tf, ...xs) => tf.square(tf.addN(xs.map((x: any) => tf.reshape(tf.sum(tf.square(x)), [1])))),
  },
  {
    name: 'l2 normalisation',
    shapes: [[4, 6]],
    f: (tf, x) => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12))),
  },
];

import { describe, it, expect, beforeAll } from 'vitest';
import { buildArchitecture, modelFromKerasConfig, type KerasModelConfig } from '@semembed/architectures';
import type * as tfType from '@tensorflow/tfjs';
import { KerasSGD, addHeads, fit, makeSchedule, selectBackend, type DataSplit, type Tf } from '../src/index.js';
import { shareGradients, type ShareResult } from '../src/fit.js';
import { nativeShareGradients, nativeStepPlan } from '../src/native-step/index.js';

/** Largest |a - b| over the largest |b| (floor 1e-6 added to the bound below). */
function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

const emb = new Float32Array(100);
for (let i = 0; i < 10; i++) emb[i * 11] = 1;

function data(n: number, size: number, seed: number) {
  const x = Float32Array.from({ length: n * size }, (_, i) => Math.sin((i + seed * 7919) * 12.9898) * 0.7);
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 3 + seed) % 10);
  return { x, labels };
}

interface Case {
  name: string;
  /** Relative loss tolerance when not 1e-5: the wasm backend sums simple's 1.2M squared weights (its L2 loss) in
   * float32 (1.4e-4 relative off the double sum; the cpu backend and the native step agree to 3e-8). */
  wasmLossTol?: number;
  shape: [number, number, number];
  n: number;
  clsWeight: number;
  loss: 'inv_corr' | 'mse' | 'softmax_corr';
}

const CASES: Case[] = [
  { name: 'fashion-cnn', shape: [28, 28, 1], n: 16, clsWeight: 0.1, loss: 'inv_corr' },
  { name: 'fashion-cnn-wide', shape: [28, 28, 1], n: 6, clsWeight: 0.1, loss: 'inv_corr' },
  { name: 'simple', shape: [16, 16, 3], n: 16, clsWeight: 0.1, loss: 'inv_corr', wasmLossTol: 3e-4 },
  { name: 'fashion-cnn', shape: [28, 28, 1], n: 8, clsWeight: 0, loss: 'mse' },
  { name: 'fashion-cnn', shape: [28, 28, 1], n: 8, clsWeight: 0.5, loss: 'softmax_corr' },
];

const configOf = (c: Case): KerasModelConfig =>
  buildArchitecture(c.name, {
    inputShape: c.shape,
    embeddingDim: 10,
    numClasses: 10,
    loss: c.loss,
    clsWeight: c.clsWeight,
  });

/** A seeded uniform [-1, 1) generator (mulberry32). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  };
}

/**
 * Fixed weights: kernels seeded uniform of variance 1/fan-in (a fresh model draws other ones each time, which made
 * the tolerances a matter of luck); biases, gamma, beta and moving statistics as initialised.
 */
function fixedWeights(tf: Tf, model: tfType.LayersModel): void {
  model.weights.forEach((w, k) => {
    if (w.shape.length < 2) return;
    const fanIn = w.shape.slice(0, -1).reduce((a: number, b) => a * (b ?? 1), 1);
    const v = w.read() as tfType.Variable;
    const next = uniform(k + 1);
    const values = Float32Array.from({ length: v.size }, () => next() * Math.sqrt(3 / fanIn));
    const t = tf.tensor(values, v.shape);
    v.assign(t);
    t.dispose();
  });
}

function snapshot(model: tfType.LayersModel): Float32Array[] {
  return model.weights.map((w) => (w.read().dataSync() as Float32Array).slice());
}
function restore(tf: Tf, model: tfType.LayersModel, s: Float32Array[]): void {
  model.weights.forEach((w, i) => {
    const v = w.read() as tfType.Variable;
    const t = tf.tensor(s[i], v.shape);
    v.assign(t);
    t.dispose();
  });
}

async function withEnv<T>(value: string | undefined, f: () => Promise<T> | T): Promise<T> {
  const old = process.env.SEMEMBED_NATIVE_STEP;
  if (value === undefined) delete process.env.SEMEMBED_NATIVE_STEP;
  else process.env.SEMEMBED_NATIVE_STEP = value;
  try {
    return await f();
  } finally {
    if (old === undefined) delete process.env.SEMEMBED_NATIVE_STEP;
    else process.env.SEMEMBED_NATIVE_STEP = old;
  }
}

/** One share through both paths from the same weights: results and the weights (BN statistics) after each. */
async function bothPaths(tf: Tf, c: Case, seed = 1) {
  const model = await modelFromKerasConfig(tf, configOf(c));
  fixedWeights(tf, model);
  const o = {
    model,
    loss: c.loss,
    clsWeight: c.clsWeight,
    embedding: emb,
    embRows: 10,
    embDim: 10,
    numClasses: 10,
    train: { inputShape: c.shape },
  };
  const vars = model.trainableWeights.map((w) => w.read() as tfType.Variable);
  const { x, labels } = data(c.n, c.shape[0] * c.shape[1] * c.shape[2], seed);
  const start = snapshot(model);
  const ref = await withEnv('0', () => shareGradients(tf, o, vars, x, labels, c.n));
  const refAfter = snapshot(model);
  restore(tf, model, start);
  const got = await withEnv(undefined, () => nativeShareGradients(tf, o, vars, x, labels, c.n));
  const gotAfter = snapshot(model);
  const names = vars.map((v) => v.name);
  const grads = (r: ShareResult) => names.map((k) => r.grads[k].dataSync() as Float32Array);
  const out = { ref, got, refGrads: grads(ref), gotGrads: grads(got), refAfter, gotAfter, names, model };
  tf.dispose([...Object.values(ref.grads), ...Object.values(got.grads)]);
  return out;
}

function expectSame(r: Awaited<ReturnType<typeof bothPaths>>, lossTol = 1e-5, gradTol = 1e-4) {
  expect(Math.abs(r.got.value - r.ref.value) / Math.abs(r.ref.value)).toBeLessThan(lossTol);
  r.names.forEach((name, i) => {
    const { diff, scale } = maxDiff(r.gotGrads[i], r.refGrads[i]);
    expect(diff, `gradient of ${name}`).toBeLessThanOrEqual(gradTol * scale + 1e-6);
  });
  expect(maxDiff(r.got.emb, r.ref.emb).diff).toBeLessThanOrEqual(1e-5);
  if (r.ref.prob) expect(maxDiff(r.got.prob!, r.ref.prob).diff).toBeLessThanOrEqual(1e-5);
  else expect(r.got.prob).toBeUndefined();
  // BatchNorm moving statistics (and every other weight: unchanged) after the step
  r.model.weights.forEach((w, i) => {
    expect(maxDiff(r.gotAfter[i], r.refAfter[i]).diff, w.name).toBeLessThanOrEqual(1e-6);
  });
}

describe('native training step vs the TF.js path (wasm)', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await selectBackend('wasm'));
  });
  for (const c of CASES) {
    it(`${c.name} ${c.shape.join('x')} batch ${c.n}, ${c.loss}, cls_weight ${c.clsWeight}`, async () => {
      const r = await bothPaths(tf, c);
      expect(typeof nativeStepPlan(r.model, { tf, loss: c.loss })).toBe('object');
      expectSame(r, c.wasmLossTol);
    });
  }
});

describe('native training step: less common layer options vs the TF.js path (wasm)', () => {
  it('valid padding, 2x3 kernels, overlapping 3x3/2 max pooling, odd-size average pooling, GAP, Dense relu, no bias', async () => {
    const { tf } = await selectBackend('wasm');
    const input = tf.input({ shape: [11, 9, 2] });
    let x = tf.layers
      .conv2d({ filters: 5, kernelSize: [2, 3], padding: 'valid', activation: 'relu', useBias: false })
      .apply(input) as tfType.SymbolicTensor;
    x = tf.layers.batchNormalization({ epsilon: 1e-2, momentum: 0.9 }).apply(x) as tfType.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as tfType.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same' }).apply(x) as tfType.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu' }).apply(x) as tfType.SymbolicTensor;
    x = tf.layers.averagePooling2d({ poolSize: 2 }).apply(x) as tfType.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tfType.SymbolicTensor;
    x = tf.layers
      .dense({ units: 7, activation: 'relu', kernelRegularizer: tf.regularizers.l2({ l2: 1e-3 }) })
      .apply(x) as tfType.SymbolicTensor;
    const base = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 10 }).apply(x) as tfType.SymbolicTensor });
    const { model } = addHeads(tf, base, { loss: 'softmax_corr', numClasses: 10, clsWeight: 0.3 });
    fixedWeights(tf, model);
    expect(typeof nativeStepPlan(model, { tf, loss: 'softmax_corr' })).toBe('object');
    const o = {
      model,
      loss: 'softmax_corr' as const,
      clsWeight: 0.3,
      embedding: emb,
      embRows: 10,
      embDim: 10,
      numClasses: 10,
      train: { inputShape: [11, 9, 2] as [number, number, number] },
    };
    const vars = model.trainableWeights.map((w) => w.read() as tfType.Variable);
    const { x: xs, labels } = data(5, 11 * 9 * 2, 9);
    const start = snapshot(model);
    const ref = await withEnv('0', () => shareGradients(tf, o, vars, xs, labels, 5));
    const refAfter = snapshot(model);
    restore(tf, model, start);
    const got = nativeShareGradients(tf, o, vars, xs, labels, 5);
    const names = vars.map((v) => v.name);
    const grads = (r: ShareResult) => names.map((k) => r.grads[k].dataSync() as Float32Array);
    expectSame({
      ref,
      got,
      refGrads: grads(ref),
      gotGrads: grads(got),
      refAfter,
      gotAfter: snapshot(model),
      names,
      model,
    });
    tf.dispose([...Object.values(ref.grads), ...Object.values(got.grads)]);
  });
});

describe('native training step vs the TF.js path (cpu backend: tfjs-core kernels and gradients)', () => {
  let tf: Tf;
  beforeAll(async () => {
    ({ tf } = await selectBackend('cpu'));
  });
  // tfjs's cpu kernels are slow: the main job's network on a small batch
  for (const c of [{ ...CASES[0], n: 4 }]) {
    it(`${c.name} ${c.shape.join('x')} batch ${c.n}, ${c.loss}, cls_weight ${c.clsWeight}`, async () => {
      expectSame(await bothPaths(tf, c));
    });
  }
});

/** A split over fixed random-ish rows, as fit() reads it. */
function splitOf(shape: [number, number, number], n: number): DataSplit {
  const size = shape[0] * shape[1] * shape[2];
  const { x, labels } = data(n, size, 3);
  return {
    size: n,
    inputShape: shape,
    labels,
    *batches(o) {
      for (let b = 0; b * o.batchSize < n; b++) {
        const s = Math.min(o.batchSize, n - b * o.batchSize);
        const at = b * o.batchSize;
        yield { x: x.subarray(at * size, (at + s) * size), labels: labels.subarray(at, at + s), size: s };
      }
    },
  };
}

describe('fit() with the native step', () => {
  // One step agrees to ~1e-6 of the weights' scale; the difference then grows several-fold a step (max-pooling
  // near-ties and BatchNorm over 8 rows amplify float rounding): after 5 steps 1.1e-4 (losses 2.2e-6 relative).
  it('5 steps of fashion-cnn (inv_corr + cls head): weights after as the TF.js path within 5e-4 of their scale', async () => {
    const { tf } = await selectBackend('wasm');
    const c = CASES[0];
    const run = (env: string | undefined) =>
      withEnv(env, async () => {
        const model = await modelFromKerasConfig(tf, configOf(c));
        fixedWeights(tf, model);
        const optimizer = new KerasSGD(tf, 0.05, { momentum: 0.9, nesterov: true, clipnorm: 10, decay: 1e-3 });
        const losses: number[] = [];
        // the last batch is smaller (36 rows = 4 x 8 + 4): buffers for a second batch size
        await fit({
          tf,
          model,
          loss: c.loss,
          embedding: emb,
          embRows: 10,
          embDim: 10,
          clsWeight: c.clsWeight,
          numClasses: 10,
          train: splitOf(c.shape, 36),
          epochs: 1,
          batchSize: 8,
          valBatchSize: 4,
          schedule: makeSchedule('SGD', { sgdSchedule: '1:0.05,1' }, 5),
          optimizer,
          seed: 7,
          augment: false,
          onProgress: (e) => losses.push(e.loss),
        });
        optimizer.dispose();
        return { weights: snapshot(model), losses, names: model.weights.map((w) => w.name) };
      });
    const ref = await run('0');
    const got = await run(undefined);
    expect(got.losses.length).toBe(5);
    got.losses.forEach((l, i) =>
      expect(Math.abs(l - ref.losses[i])).toBeLessThanOrEqual(1e-4 * Math.abs(ref.losses[i])),
    );
    got.weights.forEach((w, i) => {
      const { diff, scale } = maxDiff(w, ref.weights[i]);
      expect(diff, got.names[i]).toBeLessThanOrEqual(5e-4 * scale + 1e-6);
    });
  });
});

describe('fallback to the TF.js path', () => {
  it('a Dropout layer or a strided convolution: the plan says why, and shareGradients gives the TF.js results', async () => {
    const { tf } = await selectBackend('wasm');
    const input = tf.input({ shape: [8, 8, 1] });
    const dropped = tf.layers.dropout({ rate: 0.5 }).apply(tf.layers.flatten().apply(input)) as tfType.SymbolicTensor;
    const dropModel = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 10 }).apply(dropped) as tfType.SymbolicTensor,
    });
    expect(nativeStepPlan(dropModel, { tf, loss: 'mse' })).toMatch(/Dropout has no native form/);
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }).apply(input);
    const flat = tf.layers.flatten().apply(conv) as tfType.SymbolicTensor;
    const base = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 10 }).apply(flat) as tfType.SymbolicTensor,
    });
    const { model } = addHeads(tf, base, { loss: 'inv_corr', numClasses: 10 });
    expect(nativeStepPlan(model, { tf, loss: 'inv_corr' })).toMatch(/strides 2x2/);
    const o = {
      model,
      loss: 'inv_corr' as const,
      clsWeight: 0,
      embedding: emb,
      embRows: 10,
      embDim: 10,
      numClasses: 10,
    };
    const vars = model.trainableWeights.map((w) => w.read() as tfType.Variable);
    const { x, labels } = data(3, 64, 5);
    const share = () => shareGradients(tf, { ...o, train: { inputShape: [8, 8, 1] } }, vars, x, labels, 3);
    const a = await share();
    const b = await withEnv('0', share);
    expect(b.value).toBe(a.value);
    for (const v of vars) expect(b.grads[v.name].dataSync()).toEqual(a.grads[v.name].dataSync());
    expect(() => nativeShareGradients(tf, o, vars, x, labels, 3)).toThrow(/strides 2x2/);
    tf.dispose([...Object.values(a.grads), ...Object.values(b.grads)]);
  });
});

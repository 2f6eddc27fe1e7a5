import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildArchitecture, modelFromKerasConfig, type KerasModelConfig } from '@semembed/architectures';
import type * as tfType from '@tensorflow/tfjs';
import {
  batchParts,
  GradientWorkers,
  loadNativeConv,
  resolveWorkers,
  selectBackend,
  type DataSplit,
  type HelperSetup,
  type Tf,
} from '../src/index.js';
import { evaluate, shareGradients } from '../src/fit.js';
import { parallelGradients } from '../src/parallel.js';
import { relErr } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SHAPE: [number, number, number] = [28, 28, 1];

/** fashion-cnn with its BatchNormalization layers cut out (inputs rewired): gradients then do not depend on how a batch is split. */
function withoutBatchNorm(cfg: KerasModelConfig): KerasModelConfig {
  const c = structuredClone(cfg) as unknown as {
    config: { layers: Array<{ class_name: string; name: string; inbound_nodes: unknown[][][] }> };
  };
  const replaced = new Map<string, string>();
  const layers = [];
  for (const l of c.config.layers) {
    for (const node of l.inbound_nodes) for (const inb of node) inb[0] = replaced.get(inb[0] as string) ?? inb[0];
    if (l.class_name === 'BatchNormalization') replaced.set(l.name, l.inbound_nodes[0][0][0] as string);
    else layers.push(l);
  }
  c.config.layers = layers;
  return c as unknown as KerasModelConfig;
}

function data(n: number, seed: number) {
  const size = SHAPE[0] * SHAPE[1] * SHAPE[2];
  const x = Float32Array.from({ length: n * size }, (_, i) => Math.sin((i + seed * 7919) * 12.9898) * 0.7);
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 3 + seed) % 10);
  return { x, labels, size: n };
}

const emb = new Float32Array(100);
for (let i = 0; i < 10; i++) emb[i * 11] = 1;

/** The loss setup both sides of a comparison share (the helpers' and the calling thread's). */
const lossSetup = (clsWeight: number) =>
  ({ loss: 'inv_corr', clsWeight, embedding: emb, embRows: 10, embDim: 10, numClasses: 10 }) as const;

/** The main job's network on SHAPE with the inv_corr loss (and a classification head when clsWeight > 0). */
const fashionCnn = (clsWeight?: number): KerasModelConfig =>
  buildArchitecture('fashion-cnn', {
    inputShape: SHAPE,
    embeddingDim: 10,
    numClasses: 10,
    loss: 'inv_corr',
    clsWeight,
  });

function setupFor(cfg: KerasModelConfig, clsWeight = 0): HelperSetup {
  return { backend: 'wasm', modelConfig: cfg, ...lossSetup(clsWeight), inputShape: SHAPE };
}

describe('batchParts', () => {
  it('splits rows into contiguous, nearly equal shares that cover the batch', () => {
    expect(batchParts(100, 2)).toEqual([
      [0, 50],
      [50, 100],
    ]);
    expect(batchParts(7, 3)).toEqual([
      [0, 3],
      [3, 5],
      [5, 7],
    ]);
    expect(batchParts(1, 2)).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });
  it('auto uses the usable cores, at most 4', () => {
    const r = resolveWorkers('auto');
    expect(r).toBeGreaterThanOrEqual(1);
    expect(r).toBeLessThanOrEqual(4);
    expect(resolveWorkers(3)).toBe(3);
  });
});

describe('data-parallel gradients (helper threads with their own wasm backend)', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await selectBackend('wasm')).tf;
  });

  const localFor =
    (model: tfType.LayersModel, vars: tfType.Variable[], clsWeight = 0) =>
    (x: Float32Array, labels: Int32Array, n: number) =>
      shareGradients(tf, { model, ...lossSetup(clsWeight), train: { inputShape: SHAPE } }, vars, x, labels, n);

  for (const [threads, n] of [
    [2, 40],
    [3, 7],
  ] as const) {
    it(`${threads} threads, batch ${n}: the same loss, outputs and gradients as one thread on the whole batch`, async () => {
      const cfg = withoutBatchNorm(fashionCnn());
      const model = await modelFromKerasConfig(tf, cfg);
      const workers = await GradientWorkers.start(threads, model, setupFor(cfg));
      try {
        const vars = model.trainableWeights.map((w) => w.read() as tfType.Variable);
        const trainIdx = model.weights.flatMap((w, i) => (w.trainable ? [i] : []));
        const batch = data(n, 1);
        const whole = await localFor(model, vars)(batch.x, batch.labels, n);
        const par = await parallelGradients(tf, workers, model, trainIdx, batch, 28 * 28, localFor(model, vars));
        expect(Math.abs(par.value - whole.value)).toBeLessThan(1e-6);
        expect(relErr(par.emb, whole.emb)).toBeLessThan(1e-5);
        for (const v of vars) {
          const d = relErr(
            par.grads[v.name].dataSync() as Float32Array,
            whole.grads[v.name].dataSync() as Float32Array,
          );
          expect(d, v.name).toBeLessThan(1e-4);
        }
        tf.dispose([...Object.values(par.grads), ...Object.values(whole.grads)]);
      } finally {
        await workers.dispose();
        model.dispose();
      }
    });
  }

  it('with BatchNorm: gradients and moving statistics are the share-size-weighted means of each share alone', async () => {
    const cfg = fashionCnn(0.1);
    const model = await modelFromKerasConfig(tf, cfg);
    const workers = await GradientWorkers.start(2, model, setupFor(cfg, 0.1));
    try {
      const vars = model.trainableWeights.map((w) => w.read() as tfType.Variable);
      const all = model.weights.map((w) => w.read() as tfType.Variable);
      const trainIdx = model.weights.flatMap((w, i) => (w.trainable ? [i] : []));
      const n = 30; // shares of 15 and 15
      const batch = data(n, 2);
      const before = all.map((v) => v.dataSync().slice() as Float32Array);
      const restore = () => all.forEach((v, i) => v.assign(tf.tensor(before[i], v.shape)));
      // Each share alone, one after the other on this thread.
      const local = localFor(model, vars, 0.1);
      const a = await local(batch.x.subarray(0, 15 * 784), batch.labels.subarray(0, 15), 15);
      const statsA = all.map((v) => v.dataSync().slice() as Float32Array);
      restore();
      const b = await local(batch.x.subarray(15 * 784), batch.labels.subarray(15), 15);
      const statsB = all.map((v) => v.dataSync().slice() as Float32Array);
      restore();
      const par = await parallelGradients(tf, workers, model, trainIdx, batch, 784, local);
      expect(par.prob).toBeDefined();
      expect(Math.abs(par.value - (a.value + b.value) / 2)).toBeLessThan(1e-6);
      for (const v of vars) {
        const ga = a.grads[v.name].dataSync() as Float32Array;
        const gb = b.grads[v.name].dataSync() as Float32Array;
        const want = ga.map((x, i) => (x + gb[i]) / 2);
        expect(relErr(par.grads[v.name].dataSync() as Float32Array, want), v.name).toBeLessThan(1e-4);
      }
      let movingStats = 0;
      model.weights.forEach((w, i) => {
        if (w.trainable) return;
        movingStats++;
        const want = statsA[i].map((x, j) => (x + statsB[i][j]) / 2);
        expect(statsA[i]).not.toEqual(before[i]);
        expect(relErr(all[i].dataSync() as Float32Array, want), w.name).toBeLessThan(1e-5);
      });
      expect(movingStats).toBe(8); // 4 BatchNormalization layers (bn1, bn3, bn5, the prob head's) x mean, variance
      tf.dispose([...Object.values(par.grads), ...Object.values(a.grads), ...Object.values(b.grads)]);
    } finally {
      await workers.dispose();
      model.dispose();
    }
  });

  it('a process whose only pending work is a helper step waits for it, then exits (idle helpers hold no reference)', () => {
    const r = spawnSync(process.execPath, [path.join(here, 'fixtures', 'await-helper.mjs')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('reply number');
    expect(r.status).toBe(0);
  }, 70_000);

  it('a helper that cannot build the model fails start() with a clear message', async () => {
    const cfg = fashionCnn();
    const model = await modelFromKerasConfig(tf, cfg);
    const broken = structuredClone(cfg) as unknown as { config: { layers: Array<{ class_name: string }> } };
    broken.config.layers[1].class_name = 'NoSuchLayer';
    await expect(GradientWorkers.start(2, model, setupFor(broken as unknown as KerasModelConfig))).rejects.toThrow(
      /training worker 1 could not start: .*NoSuchLayer/,
    );
    model.dispose();
  });
});

/** n synthetic images in batches that, like @semembed/datasets' batches(), reuse one buffer. */
function reusingSplit(n: number, seed: number): DataSplit {
  const all = data(n, seed);
  const size = SHAPE[0] * SHAPE[1] * SHAPE[2];
  return {
    size: n,
    inputShape: SHAPE,
    labels: all.labels,
    *batches({ batchSize }) {
      const x = new Float32Array(batchSize * size);
      const labels = new Int32Array(batchSize);
      for (let s = 0; s < n; s += batchSize) {
        const count = Math.min(batchSize, n - s);
        x.set(all.x.subarray(s * size, (s + count) * size));
        labels.set(all.labels.subarray(s, s + count));
        yield { x: x.subarray(0, count * size), labels: labels.subarray(0, count), size: count };
      }
    },
  };
}

describe('evaluation shared with helper threads', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await selectBackend('wasm')).tf;
  });

  for (const [threads, n, batch] of [
    [2, 230, 50], // 5 batches: the last round has only this thread's, and that one is partial
    [3, 160, 40],
  ] as const) {
    it(`${threads} threads, ${n} images in batches of ${batch}: every number as on one thread, to the last bit`, async () => {
      const cfg = fashionCnn(0.1);
      const model = await modelFromKerasConfig(tf, cfg);
      const helpers = await GradientWorkers.start(threads, model, setupFor(cfg, 0.1), { keepKernelThreads: true });
      try {
        const o = { tf, model, ...lossSetup(0.1) };
        const split = reusingSplit(n, 3);
        // Twice, new weights in between: the helpers evaluate the weights of the time, not the ones they loaded first.
        for (const round of [0, 1]) {
          if (round) for (const w of model.weights) w.write(tf.mul(w.read(), 1.5));
          const one = await evaluate(o, split, batch, { features: true });
          const seen: number[] = [];
          const shared = await evaluate(o, split, batch, { features: true, helpers, onBatch: (b) => seen.push(b) });
          expect(seen).toEqual(Array.from({ length: Math.ceil(n / batch) }, (_, i) => i + 1));
          expect(shared.loss).toBe(one.loss);
          expect(shared.embAcc).toBe(one.embAcc);
          expect(shared.clsAcc).toBe(one.clsAcc);
          expect(shared.clsPred).toEqual(one.clsPred);
          expect(shared.features).toEqual(one.features);
          // Rows differ: a helper that got the wrong rows (or none) would show.
          const firstOfRow = Array.from({ length: n }, (_, i) => one.features![i * 10]);
          expect(new Set(firstOfRow).size).toBeGreaterThan(n / 2);
        }
      } finally {
        await helpers.dispose();
        model.dispose();
      }
    }, 60_000);
  }

  it("an evaluation helper keeps the process's native kernel threads (a training helper sets them to 1)", async () => {
    const native = loadNativeConv().native;
    expect(native?.nativeThreads, 'the native addon with its kernel threads (npm ci builds it)').toBeDefined();
    const cfg = fashionCnn();
    const model = await modelFromKerasConfig(tf, cfg);
    const before = native!.nativeThreads!();
    native!.setNativeThreads!(2);
    try {
      const helpers = await GradientWorkers.start(2, model, setupFor(cfg), { keepKernelThreads: true });
      expect(native!.nativeThreads!()).toBe(2);
      await helpers.dispose();
      const training = await GradientWorkers.start(2, model, setupFor(cfg));
      expect(native!.nativeThreads!()).toBe(1);
      await training.dispose();
    } finally {
      native!.setNativeThreads!(before);
      model.dispose();
    }
  }, 60_000);

  it('a helper that has exited fails the evaluation with a message naming it', async () => {
    const cfg = fashionCnn();
    const model = await modelFromKerasConfig(tf, cfg);
    const helpers = await GradientWorkers.start(2, model, setupFor(cfg), { keepKernelThreads: true });
    await helpers.dispose();
    try {
      const o = { tf, model, ...lossSetup(0) };
      await expect(evaluate(o, reusingSplit(100, 1), 25, { helpers })).rejects.toThrow(/training worker 1 exited/);
    } finally {
      model.dispose();
    }
  }, 60_000);
});

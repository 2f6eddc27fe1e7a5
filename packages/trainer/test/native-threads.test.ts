import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type * as tfType from '@tensorflow/tfjs';
import type { Tensor4D } from '@tensorflow/tfjs';
import { selectBackend, type Tf } from '../src/backend.js';
import { loadNativeConv, nativeConvPath } from '../src/native-conv.js';
import { resolveWorkers } from '../src/parallel.js';
import { randArr, size } from './kernel-cases.js';
import { bnTraining, nativeAddonOptional, relErr } from './helpers.js';

// The addon's kernels split their work across native threads (native/parallel.h). Every kernel is compared with
// the cpu backend at 1 and 2 threads, on batch sizes that do not split evenly (1, 3, 7), and the results of one
// thread count are reproducible bit for bit; 1 vs 2 threads differ by float rounding of sums only. The shapes are
// large enough that batch 7 (and 3 for conv2) is split in two uneven parts (the kernels' grains in native/*.cc).
const { native } = loadNativeConv();
type T = tfType.Tensor;

const THREADS = [1, 2];
const BATCHES = [1, 3, 7];

/** What the cases compute, on one backend: outputs and gradients as arrays. */
type Run = (tf: Tf) => Float32Array[];

function convCase(n: number, h: number, ci: number, co: number, stride: number, pad: 'same' | 'valid'): Run {
  return (tf) =>
    tf.tidy(() => {
      const x = tf.tensor4d(randArr(n * h * h * ci, 1), [n, h, h, ci]);
      const k = tf.tensor4d(randArr(9 * ci * co, 2), [3, 3, ci, co]);
      const y = tf.conv2d(x, k, stride, pad);
      const w = tf.tensor(randArr(size(y.shape), 3), y.shape);
      const g = tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a as Tensor4D, b as Tensor4D, stride, pad), w)))([x, k]);
      return [y, ...g].map((t) => t.dataSync() as Float32Array);
    });
}

function poolCase(n: number, h: number, c: number, quant: number, nan: boolean): Run {
  return (tf) =>
    tf.tidy(() => {
      const v = randArr(n * h * h * c, 4, quant);
      // NaN never wins a window (the cpu backend's rule); a window of NaN only gives -Infinity and no gradient
      if (nan) for (let i = 0; i < v.length; i += 7) v[i] = NaN;
      const x = tf.tensor4d(v, [n, h, h, c]);
      const f = (t: T) => [tf.maxPool(t as Tensor4D, 2, 2, 'valid'), tf.maxPool(t as Tensor4D, 3, 2, 'same')];
      const ws = f(x).map((y, i) => tf.tensor(randArr(size(y.shape), 5 + i), y.shape));
      const outs = [...f(x), tf.relu(x)];
      if (nan) return outs.map((t) => t.dataSync() as Float32Array);
      const g = tf.grad((t: T) => tf.addN(f(t).map((y, i) => tf.sum(tf.mul(y, ws[i])))) as tfType.Scalar)(x);
      const rg = tf.grad((t: T) => tf.sum(tf.mul(tf.relu(t), tf.tensor(randArr(size(t.shape), 7), t.shape))))(x);
      return [...outs, g, rg].map((t) => t.dataSync() as Float32Array);
    });
}

function bnCase(shape: number[]): Run {
  const lead = shape.slice(0, -1).map((_, i) => i);
  return (tf) =>
    tf.tidy(() => {
      const { x, gamma, beta, outs } = bnTraining(tf, shape, 8, tf.getBackend() === 'wasm');
      // the per-channel broadcasts and reductions (Sum over leading axes, x * vec) go to the addon too
      const sums = [tf.sum(x, lead), tf.mul(x, gamma), tf.sub(beta, x)];
      return [...outs, ...sums].map((t) => t.dataSync() as Float32Array);
    });
}

const cases: Array<[string, (n: number) => Run, number]> = [
  // [name, case of a batch size, tolerance against the cpu backend]
  ['conv 28x28x1 -> 16 same (fashion-cnn conv1)', (n) => convCase(n, 28, 1, 16, 1, 'same'), 1e-5],
  ['conv 14x14x16 -> 32 same (conv2)', (n) => convCase(n, 14, 16, 32, 1, 'same'), 1e-5],
  ['conv 9x9x3 -> 4 stride 2 valid', (n) => convCase(n, 9, 3, 4, 2, 'valid'), 1e-5],
  // (an input that wins two overlapping 3x3 windows sums their dy in another order than the cpu backend)
  ['max pool 2x2/2 and 3x3/2 same, ties, relu: outputs and gradients', (n) => poolCase(n, 28, 16, 4, false), 1e-6],
  ['max pool and relu with NaN', (n) => poolCase(n, 14, 8, 0, true), 0],
  ['BatchNorm training forward and gradients, 4-D', (n) => bnCase([n, 28, 28, 16]), 1e-5],
  ['BatchNorm training forward and gradients, 2-D', (n) => bnCase([n * 80, 128]), 1e-5],
];

describe('native kernels on 1 and 2 threads against the cpu backend', () => {
  let tf: Tf;
  let before = 1;
  beforeAll(async () => {
    tf = (await selectBackend('wasm')).tf;
    before = native?.nativeThreads?.() ?? 1;
  });
  afterAll(() => {
    native?.setNativeThreads?.(before);
  });

  it('the addon has its thread pool, MaxPool and Relu', () => {
    if (nativeAddonOptional && !native) return;
    expect(typeof native?.setNativeThreads).toBe('function');
    expect(native!.setNativeThreads!(2)).toBe(2);
    expect(native!.nativeThreads!()).toBe(2);
    expect(() => native!.setNativeThreads!(0)).toThrow(/thread count >= 1/);
    expect(typeof native!.maxPool).toBe('function');
    expect(typeof native!.relu).toBe('function');
    expect(() => native!.maxPool!(new Float32Array(8), new Float32Array(1), new Float32Array(12))).toThrow(
      /sizes do not match/,
    );
    expect(() => native!.relu!(new Float32Array(8), new Float32Array(7))).toThrow(/sizes do not match/);
  });

  it('--workers auto is 1 worker when the kernels have threads of their own, else the cores (at most 4)', () => {
    if (!native?.setNativeThreads) return expect(nativeAddonOptional).toBe(true);
    native.setNativeThreads(2);
    expect(resolveWorkers('auto')).toBe(1);
    expect(resolveWorkers(3)).toBe(3);
    native.setNativeThreads(1);
    expect(resolveWorkers('auto')).toBe(Math.max(1, Math.min(4, os.availableParallelism())));
  });

  it('SEMEMBED_NATIVE_THREADS sets the count', () => {
    if (!native) return expect(nativeAddonOptional).toBe(true);
    const r = spawnSync(
      process.execPath,
      ['-e', `console.log(require(${JSON.stringify(nativeConvPath())}).nativeThreads())`],
      {
        env: { ...process.env, SEMEMBED_NATIVE_THREADS: '3' },
        encoding: 'utf8',
      },
    );
    expect(r.stdout.trim(), r.stderr).toBe('3');
  });

  for (const [name, make, tol] of cases) {
    it(`${name}: batches ${BATCHES}, threads ${THREADS}`, async () => {
      if (!native?.setNativeThreads) return expect(nativeAddonOptional).toBe(true);
      for (const n of BATCHES) {
        const run = make(n);
        await tf.setBackend('cpu');
        const ref = run(tf);
        await tf.setBackend('wasm');
        const byThreads: Float32Array[][] = [];
        for (const threads of THREADS) {
          native.setNativeThreads(threads);
          const got = run(tf);
          // the same thread count gives the same bits
          expect(run(tf), `${name} batch ${n} threads ${threads} repeated`).toEqual(got);
          for (let i = 0; i < ref.length; i++) {
            const what = `${name} batch ${n} threads ${threads} output ${i}`;
            expect(got[i].length, what).toBe(ref[i].length);
            if (tol === 0) expect(got[i], what).toEqual(ref[i]);
            else expect(relErr(got[i], ref[i]), what).toBeLessThanOrEqual(tol);
          }
          byThreads.push(got);
        }
        // 1 vs 2 threads: sums split in two and added, nothing else
        for (let i = 0; i < ref.length; i++) {
          if (tol === 0) expect(byThreads[1][i]).toEqual(byThreads[0][i]);
          else expect(relErr(byThreads[1][i], byThreads[0][i])).toBeLessThanOrEqual(1e-6);
        }
      }
    }, 180_000);
  }

  it('calls from several JavaScript threads at once share the pool and get the same results', async () => {
    if (!native?.setNativeThreads) return expect(nativeAddonOptional).toBe(true);
    native.setNativeThreads(2);
    const n = 7;
    const x = randArr(n * 28 * 28 * 16, 11);
    const dims = new Float32Array([n, 28, 28, 16, 14, 14, 2, 2, 2, 2, 0, 0]);
    const dy = randArr(n * 14 * 14 * 16, 12);
    const refConv = new Float32Array(n * 28 * 28 * 16);
    const w = randArr(9 * 16 * 16, 13);
    const geo = new Float32Array([n, 28, 28, 16, 16, 3, 3, 1, 1, 1, 1, 28, 28]);
    native.conv(0, x, w, refConv, geo);
    const refPool = new Float32Array(x.length);
    native.maxPoolGrad!(x, dy, refPool, dims);
    // Each worker loads the same addon (one pool per process) and runs both kernels 20 times while the main
    // thread does too; a call that finds the pool busy runs its parts itself, in the same split.
    const code = `
      const { parentPort, workerData: d } = require('node:worker_threads');
      const addon = require(d.path);
      const y = new Float32Array(d.x.length), dx = new Float32Array(d.x.length);
      let same = true;
      for (let r = 0; r < 20; r++) {
        addon.conv(0, d.x, d.w, y, d.geo);
        addon.maxPoolGrad(d.x, d.dy, dx, d.dims);
        same = same && y.every((v, i) => v === d.refConv[i]) && dx.every((v, i) => v === d.refPool[i]);
      }
      parentPort.postMessage(same);`;
    const data = { path: nativeConvPath(), x, w, geo, dy, dims, refConv, refPool };
    const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: data }));
    const replies = workers.map(
      (wk) => new Promise<boolean>((resolve, reject) => wk.once('message', resolve).once('error', reject)),
    );
    const y = new Float32Array(x.length);
    let mainSame = true;
    for (let r = 0; r < 20; r++) {
      native.conv(0, x, w, y, geo);
      mainSame = mainSame && y.every((v, i) => v === refConv[i]);
    }
    expect(await Promise.all(replies)).toEqual([true, true]);
    expect(mainSame).toBe(true);
    await Promise.all(workers.map((wk) => wk.terminate()));
  }, 60_000);
});

// The trainer on WebGPU (Dawn in Node). Without a GPU the tests run on Chromium's SwiftShader ICD (CI installs
// chromium + libvulkan1): correct, slow, so small shapes. Every kernel a training step of the reference
// architectures uses is checked against the cpu backend through whole-network gradients.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll } from 'vitest';
import type * as tfType from '@tensorflow/tfjs';
import { buildArchitecture, modelFromKerasConfig } from '@semembed/architectures';
import { mulberry32 } from '@semembed/formats';
import { selectBackend, type Tf } from '../src/index.js';
import { shareGradients } from '../src/fit.js';
import { relErr } from './helpers.js';
import { cases, gradsOn, randArr } from './kernel-cases.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
process.env.VK_ICD_FILENAMES ??= SWIFTSHADER;

let tf: Tf;
beforeAll(async () => {
  expect(
    fs.existsSync(process.env.VK_ICD_FILENAMES!),
    `Vulkan ICD ${process.env.VK_ICD_FILENAMES} (apt-get install chromium libvulkan1)`,
  ).toBe(true);
  tf = (await selectBackend('cpu')).tf;
});

describe('backend selection', () => {
  it('--backend webgpu finds an adapter and says which', async () => {
    const c = await selectBackend('webgpu');
    expect(c.name).toBe('webgpu');
    expect(c.tf.getBackend()).toBe('webgpu');
    expect(c.adapter).toBeDefined();
    if (process.env.VK_ICD_FILENAMES === SWIFTSHADER) {
      expect(c.adapter!.software).toBe(true);
      expect(`${c.adapter!.vendor} ${c.adapter!.architecture} ${c.adapter!.description}`.toLowerCase()).toContain(
        'swiftshader',
      );
    }
    const y = c.tf.matMul(c.tf.tensor2d([1, 2, 3, 4], [2, 2]), c.tf.tensor2d([1, 0, 0, 1], [2, 2]));
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
  });

  it('auto does not take an emulated adapter, and says why', async () => {
    if (process.env.VK_ICD_FILENAMES !== SWIFTSHADER) return; // a real GPU is taken: nothing to check here
    const c = await selectBackend('auto');
    expect(c.name).not.toBe('webgpu');
    expect(c.skipped.join('\n')).toMatch(/webgpu: the adapter is .*SwiftShader.*\(CPU emulation\), not a GPU/i);
    await tf.setBackend('cpu');
  });
});

describe('webgpu gradients match the cpu backend, kernel by kernel', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const ref = await gradsOn(tf, 'cpu', c);
      await selectBackend('webgpu');
      const got = await gradsOn(tf, 'webgpu', c);
      await tf.setBackend('cpu');
      expect(got.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) {
        expect(Math.max(...Array.from(ref[i], Math.abs))).toBeGreaterThan(1e-3);
        expect(relErr(got[i], ref[i])).toBeLessThanOrEqual(1e-4);
      }
    });
  }
});

/** Loss, gradients and outputs of one training step of `arch` on `backend`, from fixed weights and inputs. */
async function stepOn(
  backend: string,
  arch: string,
  shape: [number, number, number],
  n: number,
  weights?: Float32Array[],
) {
  await tf.setBackend(backend);
  const cfg = buildArchitecture(arch, {
    inputShape: shape,
    embeddingDim: 10,
    numClasses: 10,
    loss: 'inv_corr',
    clsWeight: 0.1,
  });
  // Seeded initial weights: the comparison is then the same every run. With random weights a near-tie in a max-pool
  // window (two values equal to float rounding) now and then routes a gradient differently on the two backends.
  const orig = Math.random;
  Math.random = mulberry32(1234);
  let model: tfType.LayersModel;
  try {
    model = await modelFromKerasConfig(tf, cfg);
  } finally {
    Math.random = orig;
  }
  const initial =
    weights ?? (await Promise.all(model.weights.map(async (w) => (await w.read().data()) as Float32Array)));
  model.weights.forEach((w, i) => (w.read() as tfType.Variable).assign(tf.tensor(initial[i], w.shape as number[])));
  const vars = model.trainableWeights.map((w) => w.read() as tfType.Variable);
  const emb = new Float32Array(100);
  for (let i = 0; i < 10; i++) emb[i * 11] = 1;
  const [H, W, C] = shape;
  const x = randArr(n * H * W * C, 7).map((v) => v * 2);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const o = {
    model,
    loss: 'inv_corr' as const,
    clsWeight: 0.1,
    embedding: emb,
    embRows: 10,
    embDim: 10,
    numClasses: 10,
    train: { inputShape: shape },
  };
  const r = await shareGradients(tf, o, vars, x, labels, n);
  const grads = await Promise.all(vars.map(async (v) => (await r.grads[v.name].data()) as Float32Array));
  const names = model.trainableWeights.map((w) => w.originalName);
  // BatchNorm moving statistics after the step (Keras 2.2's unbiased variance rule).
  const moving = await Promise.all(
    model.weights.filter((w) => !w.trainable).map(async (w) => (await w.read().data()) as Float32Array),
  );
  tf.dispose(Object.values(r.grads));
  model.dispose();
  return { value: r.value, emb: r.emb, prob: r.prob, grads, names, moving, initial };
}

// Whole networks against wasm, not cpu: the cpu backend needs minutes for one step of `simple`, and wasm's kernels
// are themselves checked against cpu's (gradients.test.ts), as webgpu's are above.
describe('one training step on webgpu equals the (cpu-checked) wasm backend', () => {
  // Each network's ops: conv (3x3 / 1x1, stride 1 / 2, same), BatchNorm in training mode, ReLU, max / average /
  // global pooling, dense, add (residual), the l2norm + softmax heads, the inv_corr + cross-entropy losses.
  const nets: Array<[string, [number, number, number], number]> = [
    ['fashion-cnn', [28, 28, 1], 4],
    ['simple', [16, 16, 3], 4],
    ['resnet-110-wfc', [8, 8, 3], 4],
  ];
  for (const [arch, shape, n] of nets) {
    it(`${arch} ${shape.join('x')}, batch ${n}: loss, outputs, every gradient, moving statistics`, async () => {
      await selectBackend('wasm');
      const ref = await stepOn('wasm', arch, shape, n);
      await selectBackend('webgpu');
      const got = await stepOn('webgpu', arch, shape, n, ref.initial);
      expect(Number.isFinite(ref.value)).toBe(true);
      expect(Math.abs(got.value - ref.value)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.value)));
      expect(relErr(got.emb, ref.emb)).toBeLessThan(1e-4);
      expect(relErr(got.prob!, ref.prob!)).toBeLessThan(1e-4);
      expect(got.grads.length).toBe(ref.grads.length);
      // Relative to the variable's own scale, floored at 1e-3 of the network's largest gradient: a conv bias before
      // a BatchNormalization has an analytically zero gradient, so only float noise is left to compare there.
      const netMax = ref.grads.reduce((m, g) => g.reduce((a, v) => Math.max(a, Math.abs(v)), m), 0);
      expect(netMax).toBeGreaterThan(1e-3);
      for (let i = 0; i < ref.grads.length; i++) {
        let diff = 0;
        let scale = 1e-3 * netMax;
        ref.grads[i].forEach((r, j) => {
          diff = Math.max(diff, Math.abs(got.grads[i][j] - r));
          scale = Math.max(scale, Math.abs(r));
        });
        expect(diff / scale, ref.names[i]).toBeLessThan(5e-4);
      }
      for (let i = 0; i < ref.moving.length; i++) expect(relErr(got.moving[i], ref.moving[i])).toBeLessThan(1e-4);
      await tf.setBackend('cpu');
    }, 240_000);
  }
});

describe('train() on webgpu', () => {
  it('trains fashion-cnn a few steps and writes a Keras .h5', async () => {
    const { train, readKerasH5 } = await import('../src/index.js');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semembed-webgpu-'));
    const modelDump = path.join(tmp, 'model.h5');
    const logs: string[] = [];
    const result = await train({
      dataset: 'FashionMNIST',
      embedding: 'onehot',
      architecture: 'fashion-cnn',
      limit: 96,
      epochs: 1,
      batchSize: 32,
      clsWeight: 0.1,
      lrSchedule: 'SGD',
      sgdSchedule: '1:0.05,2',
      backend: 'webgpu',
      seed: 1,
      modelDump,
      onLog: (l: string) => logs.push(l),
    });
    expect(result.backend).toBe('webgpu');
    expect(logs.join('\n')).toMatch(/backend: webgpu on .+/);
    expect(Number.isFinite(result.logs[0].loss)).toBe(true);
    const h5 = await readKerasH5(modelDump);
    expect(h5.layers.flatMap((l) => l.weights).every((w) => w.data.every(Number.isFinite))).toBe(true);
    expect(h5.layers.length).toBeGreaterThan(3);
    await tf.setBackend('cpu');
  }, 300_000);
});

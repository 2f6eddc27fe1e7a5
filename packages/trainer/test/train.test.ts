import { describe, it, expect, beforeAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { classEmbeddingOf, computeClassEmbedding, readHierarchy, writeClassEmbedding } from '@semembed/hierarchy';
import { buildArchitecture, loadWeightsByKerasName, modelFromKerasConfig } from '@semembed/architectures';
import { loadDatasetSplits, normalizedImages } from '@semembed/datasets';
import { readNpy } from '@semembed/formats';
import {
  train,
  readKerasH5,
  selectBackend,
  fit,
  KerasSGD,
  makeSchedule,
  featureLabelsPath,
  type DataSplit,
  type ProgressEvent,
  type Tf,
} from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semembed-trainer-'));
const embPath = path.join(tmp, 'fashion.unitsphere.json');

beforeAll(() => {
  const h = readHierarchy(path.join(here, 'fixtures', 'fashion-mnist.parent-child.txt'));
  const classes = h.leaves();
  const res = computeClassEmbedding(h, classes, { method: 'unitsphere' });
  writeClassEmbedding(embPath, classEmbeddingOf(res));
});

const quiet = () => {};

describe('a short real training run on Fashion-MNIST (wasm)', () => {
  const modelDump = path.join(tmp, 'model.h5');
  const weightDump = path.join(tmp, 'weights.h5');
  const featureDump = path.join(tmp, 'features.npy');
  let result: Awaited<ReturnType<typeof train>>;
  const progress: ProgressEvent[] = [];

  beforeAll(async () => {
    result = await train({
      dataset: 'FashionMNIST',
      embedding: embPath,
      limit: 400,
      epochs: 2,
      batchSize: 50,
      clsWeight: 0.1,
      lrSchedule: 'SGD',
      sgdSchedule: '1:0.05,2',
      backend: 'wasm',
      seed: 1,
      modelDump,
      weightDump,
      featureDump,
      onLog: quiet,
      onProgress: (e) => progress.push(e),
    });
  }, 180_000);

  it('the loss falls', () => {
    expect(result.backend).toBe('wasm');
    expect(result.architecture).toBe('fashion-cnn');
    expect(result.logs).toHaveLength(2);
    expect(result.logs[1].loss).toBeLessThan(result.logs[0].loss);
    const first = progress.filter((p) => p.epoch === 0);
    // the running mean after the first batch vs the second epoch's mean
    expect(result.logs[1].loss).toBeLessThan(first[0].loss - 0.05);
    expect(result.test!.embAcc).toBeGreaterThan(0.3); // 10 classes: chance is 0.1
    expect(result.logs[1].valLoss).toBeDefined();
    // The test pass is the last epoch's validation (train() does not run it twice).
    expect(result.test!.loss).toBe(result.logs[1].valLoss);
    expect(result.test!.embAcc).toBe(result.logs[1].valEmbAcc);
    expect(result.test!.clsAcc).toBe(result.logs[1].valClsAcc);
  });

  it('writes a Keras-2 .h5 whose weights reproduce the dumped test features', async () => {
    const h5 = await readKerasH5(modelDump);
    expect(h5.attrs.keras_version).toBe('2.2.4');
    expect(h5.attrs.backend).toBe('tensorflow');
    const cfg = JSON.parse(h5.attrs.model_config);
    expect(h5.layers.map((l) => l.name)).toEqual(cfg.config.layers.map((l: { name: string }) => l.name));
    expect(h5.layers.find((l) => l.name === 'conv1')!.weights.map((w) => w.name)).toEqual([
      'conv1/kernel:0',
      'conv1/bias:0',
    ]);
    expect(h5.layers.find((l) => l.name === 'prob')!.weights[0].shape).toEqual([10, 10]);

    const feats = readNpy(featureDump);
    const labels = readNpy(featureLabelsPath(featureDump));
    expect(feats.dtype).toBe('float32');
    expect(feats.shape).toEqual([400, 10]);
    expect(labels.dtype).toBe('int64');
    expect(labels.shape).toEqual([400]);

    // Rebuild from the file alone and run the test images through it.
    const { tf } = await selectBackend('wasm');
    const model = await modelFromKerasConfig(tf, cfg);
    const lookup = new Map(h5.layers.flatMap((l) => l.weights.map((w) => [w.name, w] as const)));
    loadWeightsByKerasName(tf, model, (n) => lookup.get(n));
    const { test } = await loadDatasetSplits('FashionMNIST', { limit: 400 });
    const x = tf.tensor4d(normalizedImages(test), [400, 28, 28, 1]);
    const out = model.predict(x) as import('@tensorflow/tfjs').Tensor[];
    const emb = out[0].dataSync();
    let maxDiff = 0;
    for (let i = 0; i < emb.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(emb[i] - (feats.data as Float32Array)[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    for (let i = 0; i < 400; i++) expect(Number((labels.data as BigInt64Array)[i])).toBe(test.labels[i]);
    tf.dispose([x, ...out]);
    model.dispose();

    const w = await readKerasH5(weightDump);
    expect(w.layers.map((l) => l.name)).toEqual(h5.layers.map((l) => l.name));
    expect(w.attrs.model_config).toBeUndefined();
  });

  it('h5py opens the model file and lists the same layers and weights', () => {
    const py = '/usr/bin/python3';
    // h5py is the independent reader (python3-h5py, installed by scripts/install-system-deps.sh): no skip.
    const probe = spawnSync(py, ['-c', 'import h5py'], { encoding: 'utf8' });
    expect(probe.status, `python3 with h5py is needed (apt-get install python3-h5py): ${probe.stderr}`).toBe(0);
    const script = [
      'import h5py, json, sys',
      'f = h5py.File(sys.argv[1], "r")',
      'mw = f["model_weights"]',
      'out = {"attrs": {k: (v.decode() if isinstance(v, bytes) else str(type(v))) for k, v in f.attrs.items() if k != "model_config"},',
      '       "config_layers": [l["name"] for l in json.loads(f.attrs["model_config"])["config"]["layers"]],',
      '       "layers": [n.decode() for n in mw.attrs["layer_names"]],',
      '       "weights": {n.decode(): [[w.decode(), list(mw[n.decode()][w.decode()].shape)] for w in mw[n.decode()].attrs["weight_names"]] for n in mw.attrs["layer_names"]}}',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync(py, ['-c', script, modelDump], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const o = JSON.parse(r.stdout);
    expect(o.attrs).toEqual({ keras_version: '2.2.4', backend: 'tensorflow', semembed_producer: 'semembed' });
    expect(o.layers).toEqual(o.config_layers);
    expect(o.weights.bn1.map((w: [string]) => w[0])).toEqual([
      'bn1/gamma:0',
      'bn1/beta:0',
      'bn1/moving_mean:0',
      'bn1/moving_variance:0',
    ]);
    expect(o.weights.conv1[0]).toEqual(['conv1/kernel:0', [3, 3, 1, 16]]);
    expect(o.weights.mp2).toEqual([]);
  });
});

describe('seed, snapshots and interruption', () => {
  const base = {
    dataset: 'FashionMNIST',
    embedding: 'onehot',
    limit: 100,
    batchSize: 50,
    lrSchedule: 'SGD',
    sgdSchedule: '1:0.05,3',
    backend: 'wasm' as const,
    validate: false,
    onLog: quiet,
  };

  it('same seed, same features on one backend; another seed differs', async () => {
    const f = (n: string) => path.join(tmp, n);
    await train({ ...base, epochs: 1, seed: 7, featureDump: f('a.npy') });
    await train({ ...base, epochs: 1, seed: 7, featureDump: f('b.npy') });
    await train({ ...base, epochs: 1, seed: 8, featureDump: f('c.npy') });
    const a = readNpy(f('a.npy')).data as Float32Array;
    const b = readNpy(f('b.npy')).data as Float32Array;
    const c = readNpy(f('c.npy')).data as Float32Array;
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  }, 120_000);

  it('resumes from a snapshot where it stopped, and an abort writes one', async () => {
    const snap = path.join(tmp, 'snap.h5');
    const r1 = await train({ ...base, epochs: 1, seed: 2, snapshot: snap });
    expect(r1.logs.map((l) => l.epoch)).toEqual([0]);
    const s1 = await readKerasH5(snap);
    expect(JSON.parse(s1.attrs.semembed_state)).toMatchObject({ epoch: 1, iterations: 2 });
    expect(s1.optimizerWeights.length).toBeGreaterThan(0);

    const r2 = await train({ ...base, epochs: 2, seed: 2, snapshot: snap });
    expect(r2.logs.map((l) => l.epoch)).toEqual([1]);
    expect(JSON.parse((await readKerasH5(snap)).attrs.semembed_state)).toMatchObject({ epoch: 2, iterations: 4 });

    // Interrupt during epoch 3: the snapshot keeps epoch 2 as the one to (re)run.
    const ctl = new AbortController();
    const r3 = await train({
      ...base,
      epochs: 3,
      seed: 2,
      snapshot: snap,
      signal: ctl.signal,
      onProgress: () => ctl.abort(),
    });
    expect(r3.stopped).toBe(true);
    expect(r3.test).toBeUndefined();
    expect(JSON.parse((await readKerasH5(snap)).attrs.semembed_state)).toMatchObject({ epoch: 2, iterations: 5 });
    expect(fs.readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 120_000);

  it('rejects bad options with the flag name', async () => {
    await expect(train({ ...base, batchSize: 0 })).rejects.toThrow(/--batch_size/);
    await expect(train({ ...base, lrSchedule: 'fast' })).rejects.toThrow(/--lr_schedule/);
    await expect(train({ ...base, architecture: 'nope' })).rejects.toThrow(
      /--architecture: unknown architecture 'nope'/,
    );
    await expect(train({ ...base, modelDump: '/no/such/dir/m.h5' })).rejects.toThrow(/--model_dump/);
    await expect(train({ ...base, sgdSchedule: '1:x' })).rejects.toThrow(/--sgd_schedule/);
  });
});

describe('CIFAR-sized 32x32x3 networks train on wasm (smoke)', () => {
  function synthetic(n: number): DataSplit {
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    let s = 1;
    const x = Float32Array.from(
      { length: n * 32 * 32 * 3 },
      () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1,
    );
    return {
      size: n,
      inputShape: [32, 32, 3],
      labels,
      batches: function* (o) {
        for (let b = 0; b * o.batchSize < n; b++) {
          const i0 = b * o.batchSize;
          const size = Math.min(o.batchSize, n - i0);
          yield { x: x.subarray(i0 * 3072, (i0 + size) * 3072), labels: labels.subarray(i0, i0 + size), size };
        }
      },
    };
  }

  // resnet-32's embedding is its 64-d pooled features (no Dense), as in the reference.
  for (const [arch, dim] of [
    ['simple', 10],
    ['resnet-32', 64],
  ] as const) {
    it(`${arch}: finite loss, every trainable weight moves`, async () => {
      const { tf } = (await selectBackend('wasm')) as { tf: Tf };
      const cfg = buildArchitecture(arch, {
        inputShape: [32, 32, 3],
        embeddingDim: dim,
        numClasses: 10,
        loss: 'inv_corr',
        clsWeight: 0.1,
      });
      const model = await modelFromKerasConfig(tf, cfg);
      const before = model.trainableWeights.map((w) => w.read().dataSync().slice());
      const emb = new Float32Array(10 * dim);
      for (let i = 0; i < 10; i++) emb[i * dim + i] = 1;
      const opt = new KerasSGD(tf, 0.05, { momentum: 0.9, nesterov: true, clipnorm: 10, decay: 0 });
      const r = await fit({
        tf,
        model,
        loss: 'inv_corr',
        embedding: emb,
        embRows: 10,
        embDim: dim,
        clsWeight: 0.1,
        numClasses: 10,
        train: synthetic(8),
        epochs: 1,
        batchSize: 4,
        valBatchSize: 4,
        schedule: makeSchedule('SGD', { sgdSchedule: '1:0.05,1' }, 2),
        optimizer: opt,
        seed: 0,
        augment: false,
      });
      expect(Number.isFinite(r.logs[0].loss)).toBe(true);
      const after = model.trainableWeights.map((w) => w.read().dataSync());
      const unchanged = model.trainableWeights
        .filter((_, i) => after[i].every((v, j) => v === before[i][j]))
        .map((w) => w.name);
      expect(unchanged).toEqual([]);
      opt.dispose();
      model.dispose();
    }, 120_000);
  }
});

import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { loadDatasetSplits, loadDataset, sidecarPreprocessing, shareDataset, featurewiseStats } from '../src/index.js';
import { FIXTURES } from './helpers.js';

describe('limit, sidecar preprocessing, shared datasets', () => {
  it('limit keeps the first N samples per split and computes stats on them', async () => {
    const full = await loadDatasetSplits('CIFAR-100', { dataRoot: join(FIXTURES, 'cifar100-bin') });
    const { train, test } = await loadDatasetSplits('CIFAR-100', {
      dataRoot: join(FIXTURES, 'cifar100-bin'),
      limit: 5,
    });
    expect(train.labels.length).toBe(5);
    expect(test.labels.length).toBe(5);
    expect(Array.from(train.labels)).toEqual(Array.from(full.train.labels.subarray(0, 5)));
    expect(Array.from(train.images)).toEqual(Array.from(full.train.images.subarray(0, 5 * 3072)));
    expect(train.mean).not.toEqual(full.train.mean);
    expect(train.mean).toEqual(featurewiseStats(full.train.images.subarray(0, 5 * 3072), 3).mean);
    expect(train.std).toEqual(featurewiseStats(full.train.images.subarray(0, 5 * 3072), 3).std);
    const t = await loadDataset('CIFAR-100', { dataRoot: join(FIXTURES, 'cifar100-bin'), split: 'test', limit: 5 });
    expect(t.mean).toEqual(train.mean);
  });

  it('sidecar preprocessing carries the divisor training used (std + 1e-6 for Keras-style data)', async () => {
    const ds = await loadDataset('CIFAR-10', { dataRoot: join(FIXTURES, 'cifar10-bin'), split: 'test' });
    const p = sidecarPreprocessing(ds);
    expect(p.resize).toEqual([32, 32]);
    expect(p.colorSpace).toBe('rgb');
    expect(p.mean).toEqual(ds.mean);
    expect(p.std).toEqual(ds.std.map((s) => s + 1e-6));
  });

  it('a shared dataset reaches a worker without copying its pixels', async () => {
    const ds = shareDataset(await loadDataset('CIFAR-10', { dataRoot: join(FIXTURES, 'cifar10-py2'), split: 'test' }));
    expect(ds.images.buffer).toBeInstanceOf(SharedArrayBuffer);
    const w = new Worker(
      'const { parentPort, workerData } = require("node:worker_threads"); workerData.images[0] = 201; parentPort.postMessage(workerData.labels[1]);',
      { eval: true, workerData: ds },
    );
    const msg = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(msg).toBe(ds.labels[1]);
    expect(ds.images[0]).toBe(201);
  });
});

import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readKerasH5 } from '@semembed/trainer';
import { readNpy } from '@semembed/formats';
import { loadDatasetSplits, normalizedImages } from '@semembed/datasets';
import ort from 'onnxruntime-node';
import { semembed, spawnSemembed } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lie-'));

/** `learn-image-embeddings --dataset FashionMNIST --embedding <embedding> ...more`: the command line of these tests. */
const learnArgs = (embedding: string, ...more: string[]) => [
  'learn-image-embeddings',
  '--dataset',
  'FashionMNIST',
  '--embedding',
  embedding,
  ...more,
];
const emb = join(dir, 'fashion.unitsphere.json');

beforeAll(() => {
  const r = semembed([
    'compute-class-embedding',
    '--hierarchy',
    'hierarchies/fashion-mnist/fashion-mnist.parent-child.txt',
    '--method',
    'unitsphere',
    '--out',
    emb,
  ]);
  expect(r.code).toBe(0);
}, 60_000);

describe('semembed learn-image-embeddings', () => {
  it('trains on a few hundred Fashion-MNIST images and writes model, weights and features', async () => {
    const r = semembed(
      learnArgs(
        emb,
        '--cls_weight',
        '0.1',
        '--lr_schedule',
        'SGD',
        '--sgd_schedule',
        '1:0.05,1',
        '--limit',
        '300',
        '--batch_size',
        '50',
        '--backend',
        'wasm',
        '--workers',
        '2',
        '--model_dump',
        join(dir, 'm.h5'),
        '--weight_dump',
        join(dir, 'w.h5'),
        '--feature_dump',
        join(dir, 'f.npy'),
      ),
      { timeout: 170_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Data: FashionMNIST, 300 training \/ 300 test images of 28x28x1, 10 classes/m);
    expect(r.stdout).toMatch(/^backend: wasm, fast gradient kernels: .*Conv2DBackpropFilter/m);
    expect(r.stdout).toMatch(/^Data-parallel training: 2 threads, each computes the gradients of 1\/2 of every batch/m);
    expect(r.stdout).toMatch(
      /^Epoch 1 - \d+s \(\d+ img\/s\) - lr: 0\.0500 - loss: [0-9.]+ - emb_acc: [0-9.]+ - cls_acc: [0-9.]+ - val_loss: [0-9.]+/m,
    );
    expect(r.stdout).toMatch(/^\[[0-9.]+, [0-9.]+, [0-9.]+\]$/m);
    expect(r.stdout).toMatch(/^Average Accuracy: 0\.\d{4}$/m);
    expect(r.stdout).toContain(`Wrote ${join(dir, 'm.h5')}`);
    const h5 = await readKerasH5(join(dir, 'm.h5'));
    expect(h5.layers.map((l) => l.name)).toContain('prob');
    expect(readNpy(join(dir, 'f.npy')).shape).toEqual([300, 10]);
    expect(readNpy(join(dir, 'f.labels.npy')).dtype).toBe('int64');

    // The .h5 converts to ONNX, and ONNX Runtime gives the embeddings TF.js dumped.
    const c = semembed(['convert', join(dir, 'm.h5'), join(dir, 'm.onnx')]);
    expect(c.code).toBe(0);
    const { test } = await loadDatasetSplits('FashionMNIST', { limit: 300 });
    const session = await ort.InferenceSession.create(join(dir, 'm.onnx'));
    const out = await session.run({
      [session.inputNames[0]]: new ort.Tensor('float32', normalizedImages(test), [300, 28, 28, 1]),
    });
    const onnxEmb = out.l2norm.data as Float32Array;
    const tfjsEmb = readNpy(join(dir, 'f.npy')).data as Float32Array;
    expect(onnxEmb.length).toBe(tfjsEmb.length);
    let maxDiff = 0;
    for (let i = 0; i < onnxEmb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onnxEmb[i] - tfjsEmb[i]));
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
  }, 180_000);

  it('--no_progress prints only the final performance', () => {
    const r = semembed(
      learnArgs('onehot', '--epochs', '1', '--limit', '100', '--backend', 'wasm', '--no_progress', '--no-validate'),
    );
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^\[[0-9.]+, [0-9.]+\]$/),
      expect.stringMatching(/^Test: loss/),
      expect.stringMatching(/^Average Accuracy \(nearest class embedding\): /),
    ]);
  }, 120_000);

  it('bad input: one line, exit 1 (2 for a bad flag value)', () => {
    const r = semembed(learnArgs(join(dir, 'missing.json')));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^semembed: .*missing\.json/);
    const r2 = semembed(learnArgs('onehot', '--data_root', join(dir, 'nodata'), '--limit', '10'));
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/^semembed: .*nodata/);
    const r3 = semembed(learnArgs('onehot', '--epochs', '0'));
    expect(r3.code).toBe(2);
    expect(r3.stderr).toBe("semembed: --epochs must be an integer >= 1, got '0'\n");
    const r4 = semembed(learnArgs('onehot', '--workers', 'two'));
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/^semembed: --workers must be auto or an integer from 1 to 64, got 'two'/);
  }, 60_000);

  it('Ctrl-C writes a snapshot and exits cleanly; the same command resumes', async () => {
    const snap = join(dir, 'snap.h5');
    const args = learnArgs(
      'onehot',
      '--epochs',
      '200',
      '--limit',
      '100',
      '--batch_size',
      '20',
      '--backend',
      'wasm',
      '--no-validate',
      '--lr_schedule',
      'SGD',
      '--sgd_schedule',
      '1:0.01,200',
      '--snapshot',
      snap,
    );
    const run = spawnSemembed(args);
    const timer = setInterval(() => {
      if (/^Epoch 2 /m.test(run.stdout())) {
        clearInterval(timer);
        run.child.kill('SIGINT');
      }
    }, 50);
    const code = await run.exited;
    clearInterval(timer);
    const [stdout, stderr] = [run.stdout(), run.stderr()];
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted, finishing the current batch and writing a snapshot/);
    expect(stdout).toMatch(/^Interrupted: snapshot written to .*snap\.h5; rerun the same command to resume\.$/m);
    const state = JSON.parse((await readKerasH5(snap)).attrs.semembed_state);
    expect(state.epoch).toBeGreaterThanOrEqual(2);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(snap)).toBe(true);

    const r = semembed([
      ...args.slice(0, args.indexOf('--epochs')),
      '--epochs',
      String(state.epoch + 1),
      ...args.slice(args.indexOf('--epochs') + 2),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Resuming from snapshot /m);
    expect(r.stdout).toMatch(new RegExp(`^Epoch ${state.epoch + 1} - `, 'm'));
    expect(r.stdout).not.toMatch(/^Epoch 1 - /m);
  }, 180_000);
});

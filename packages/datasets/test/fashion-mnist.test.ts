import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadDataset, loadDatasetSplits, parseIdx, FASHION_MNIST_ROOT } from '../src/index.js';
import { expectUserError, tmp } from './helpers.js';

/** Independent IDX writer: magic 0x0000 0x08 <ndims>, big-endian uint32 dims, data. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

function writeSplit(
  root: string,
  prefix: string,
  n: number,
  h: number,
  w: number,
  gz: boolean,
  names?: { images: string; labels: string },
) {
  const px = new Uint8Array(n * h * w).map((_, i) => (i * 13 + 7) % 256);
  const lb = new Uint8Array(n).map((_, i) => (i * 3) % 10);
  const imgName = names?.images ?? `${prefix}-images-idx3-ubyte${gz ? '.gz' : ''}`;
  const lblName = names?.labels ?? `${prefix}-labels-idx1-ubyte${gz ? '.gz' : ''}`;
  const enc = (b: Buffer) => (gz ? gzipSync(b) : b);
  writeFileSync(join(root, imgName), enc(idx([n, h, w], px)));
  writeFileSync(join(root, lblName), enc(idx([n], lb)));
  return { px, lb };
}

describe('IDX parsing', () => {
  it('parses dims and data and checks the magic number, type, dimensions and size', async () => {
    const data = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const a = parseIdx(new Uint8Array(idx([2, 3], data)), 'x.idx');
    expect(a.dims).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const good = idx([2, 3], data);
    await expectUserError(
      () => parseIdx(new Uint8Array(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])), 'f.idx'),
      /f\.idx/,
      /bad magic number 0x1f8b0800/,
    );
    const bad = Buffer.from(good);
    bad[2] = 0x0d;
    await expectUserError(() => parseIdx(new Uint8Array(bad), 'f.idx'), /float32/, /expected uint8/);
    await expectUserError(
      () => parseIdx(new Uint8Array(good), 'f.idx', 3),
      /expected a 3-dimensional IDX array/,
      /found 2/,
    );
    await expectUserError(
      () => parseIdx(new Uint8Array(good.subarray(0, good.length - 1)), 'f.idx'),
      /truncated: header says 2x3 = 6 bytes of data, file has 5/,
    );
    await expectUserError(
      () => parseIdx(new Uint8Array(Buffer.concat([good, Buffer.from([9])])), 'f.idx'),
      /1 unexpected bytes after/,
    );
    await expectUserError(() => parseIdx(new Uint8Array(good.subarray(0, 9)), 'f.idx'), /truncated IDX header/);
  });
});

describe('Fashion-MNIST loader', () => {
  for (const gz of [true, false]) {
    it(`reads ${gz ? 'gzipped' : 'plain'} IDX files with the standard names`, async () => {
      const root = tmp();
      const tr = writeSplit(root, 'train', 6, 5, 4, gz);
      const te = writeSplit(root, 't10k', 3, 5, 4, gz);
      const { train, test } = await loadDatasetSplits('FashionMNIST', { dataRoot: root });
      expect(train.shape).toEqual([5, 4, 1]);
      expect(Array.from(train.images)).toEqual(Array.from(tr.px));
      expect(Array.from(train.labels)).toEqual(Array.from(tr.lb));
      expect(Array.from(test.images)).toEqual(Array.from(te.px));
      expect(train.classNames?.[9]).toBe('Ankle boot');
      expect(train.colorMode).toBe('gray');
      const mean = tr.px.reduce((s, v) => s + v, 0) / tr.px.length;
      expect(test.mean[0]).toBeCloseTo(mean, 10);
    });
  }

  it('accepts the dotted file names (train-images.idx3-ubyte)', async () => {
    const root = tmp();
    writeSplit(root, 'train', 2, 3, 3, false, { images: 'train-images.idx3-ubyte', labels: 'train-labels.idx1-ubyte' });
    const ds = await loadDataset('fashion-mnist', { dataRoot: root, stats: { mean: [0], std: [1] } });
    expect(ds.labels.length).toBe(2);
  });

  it('says where it looked and how to install when files are missing', async () => {
    const root = tmp();
    const msg = await expectUserError(
      () => loadDataset('FashionMNIST', { dataRoot: root }),
      /train images not found/,
      /train-images-idx3-ubyte\.gz/,
      /apt-get install dataset-fashion-mnist/,
    );
    expect(msg).toContain(root);
    await expectUserError(
      () => loadDataset('FashionMNIST', { dataRoot: join(root, 'missing') }),
      /does not exist/,
      /apt-get install dataset-fashion-mnist/,
    );
  });

  it('rejects corrupt gzip, mismatched counts and labels outside 0..9, naming the file', async () => {
    const root = tmp();
    writeSplit(root, 'train', 4, 2, 2, true);
    const f = join(root, 'train-images-idx3-ubyte.gz');
    writeFileSync(f, gzipSync(idx([4, 2, 2], new Uint8Array(16))).subarray(0, 20));
    await expectUserError(
      () => loadDataset('FashionMNIST', { dataRoot: root }),
      /train-images-idx3-ubyte\.gz/,
      /corrupt or truncated gzip/,
    );
    writeFileSync(f, gzipSync(idx([5, 2, 2], new Uint8Array(20))));
    await expectUserError(() => loadDataset('FashionMNIST', { dataRoot: root }), /4 labels but .* has 5 images/);
    writeFileSync(f, gzipSync(idx([4, 2, 2], new Uint8Array(16))));
    writeFileSync(join(root, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([4], new Uint8Array([1, 2, 10, 3]))));
    await expectUserError(() => loadDataset('FashionMNIST', { dataRoot: root }), /label 2 is 10, outside 0\.\.9/);
  });

  // The real dataset is a test dependency (Debian dataset-fashion-mnist, installed by scripts/install-system-deps.sh):
  // missing files fail here instead of skipping the checks below.
  it('the Debian dataset-fashion-mnist files are installed', () => {
    expect(
      existsSync(join(FASHION_MNIST_ROOT, 'train-images-idx3-ubyte.gz')),
      `${FASHION_MNIST_ROOT} (apt-get install dataset-fashion-mnist)`,
    ).toBe(true);
  });

  it('loads the Debian dataset-fashion-mnist files from the default root', async () => {
    const { train, test } = await loadDatasetSplits('FashionMNIST');
    expect(train.labels.length).toBe(60000);
    expect(test.labels.length).toBe(10000);
    expect(train.shape).toEqual([28, 28, 1]);
    // Published Fashion-MNIST training statistics: mean 0.2860, std 0.3530 (of 1.0) = 72.94, 90.02 of 255.
    expect(train.mean[0]).toBeCloseTo(72.94, 1);
    expect(train.std[0]).toBeCloseTo(90.02, 1);
    const counts = new Array(10).fill(0);
    for (const l of test.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });

  // numpy is the independent reference (python3-numpy, installed by scripts/install-system-deps.sh): a missing numpy
  // fails the check below instead of skipping it.
  it("mean/std equal Keras's featurewise fit (numpy float32 mean/std over axes 0,1,2) on the real training set", async () => {
    const py = `
import gzip, numpy as np
x = np.frombuffer(gzip.open('${FASHION_MNIST_ROOT}/train-images-idx3-ubyte.gz').read(), dtype=np.uint8, offset=16)
x = x.reshape(-1, 28, 28, 1).astype(np.float32)
print(repr(float(np.mean(x, axis=(0, 1, 2))[0])), repr(float(np.std(x, axis=(0, 1, 2))[0])))`;
    const [m, sd] = execFileSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' }).trim().split(' ').map(Number);
    const ds = await loadDataset('FashionMNIST', { split: 'train' });
    expect(Math.abs(ds.mean[0] - m)).toBeLessThan(1e-3);
    expect(Math.abs(ds.std[0] - sd)).toBeLessThan(1e-3);
  });
});

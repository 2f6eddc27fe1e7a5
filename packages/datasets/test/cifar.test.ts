import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset, loadDatasetSplits, readCifarSplit, featurewiseStats } from '../src/index.js';
import { FIXTURES, cifarHwc, expectUserError, tmp } from './helpers.js';

const C10_TRAIN = 15; // 5 batches x 3
const C10_TEST = 4;
const C100_TRAIN = 40;
const C100_TEST = 7;
const lbl10 = (i: number) => (i * 3 + 1) % 10;
const fine100 = (i: number) => (i * 7 + 2) % 100;

function copyDir(from: string, to: string): string {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) copyFileSync(join(from, f), join(to, f));
  return to;
}

/** Fixture ids from..from+n-1: the images make_fixtures.py wrote in that order. */
const ids = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => from + i);

/** The split holds exactly the fixture images `ids`, in order, with the labels `label` gives them; returns ids. */
function expectSplit(
  split: { images: Uint8Array; labels: Int32Array },
  fixtureIds: number[],
  label: (id: number) => number,
) {
  expectImages(split.images, fixtureIds);
  expect(Array.from(split.labels)).toEqual(fixtureIds.map(label));
  return fixtureIds;
}

function expectImages(images: Uint8Array, ids: number[]): void {
  expect(images.length).toBe(ids.length * 3072);
  ids.forEach((id, k) => {
    const want = cifarHwc(id);
    const got = images.subarray(k * 3072, (k + 1) * 3072);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(want)), `image ${k} (fixture id ${id})`).toBe(0);
  });
}

describe('CIFAR-10 readers', () => {
  for (const dir of ['cifar10-py3', 'cifar10-py2', 'cifar10-bin']) {
    it(`reads the ${dir} layout: HWC pixels, labels, class names, featurewise stats`, async () => {
      const progress: string[] = [];
      const { train, test } = await loadDatasetSplits('CIFAR-10', {
        dataRoot: join(FIXTURES, dir),
        onProgress: (d, t, w) => progress.push(`${w} ${d}/${t}`),
      });
      expect(progress).toEqual(
        [1, 2, 3, 4, 5].map((i) => `reading train batches ${i}/5`).concat(['reading test batches 1/1']),
      );
      const trainIds = expectSplit(train, ids(C10_TRAIN, 0), lbl10);
      expectSplit(test, ids(C10_TEST, 1000), lbl10);
      expect(train.shape).toEqual([32, 32, 3]);
      expect(train.numClasses).toBe(10);
      expect(train.classNames).toEqual([
        'airplane',
        'automobile',
        'bird',
        'cat',
        'deer',
        'dog',
        'frog',
        'horse',
        'ship',
        'truck',
      ]);
      // Stats come from the training split for both splits; checked against a direct two-pass computation.
      const all = Buffer.concat(trainIds.map((i) => Buffer.from(cifarHwc(i))));
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let p = c; p < all.length; p += 3) s += all[p];
        const m = s / (all.length / 3);
        let v = 0;
        for (let p = c; p < all.length; p += 3) v += (all[p] - m) ** 2;
        expect(train.mean[c]).toBeCloseTo(m, 9);
        expect(train.std[c]).toBeCloseTo(Math.sqrt(v / (all.length / 3)), 9);
      }
      expect(test.mean).toEqual(train.mean);
      expect(test.std).toEqual(train.std);
      expect(test.mean).not.toEqual(featurewiseStats(test.images, 3).mean);
      // CIFAR-10 trains with zoom as well (the reference's train_generator_kwargs for cifar-10).
      expect(train.augmentation).toEqual({
        kind: 'keras',
        horizontalFlip: true,
        widthShift: 0.15,
        heightShift: 0.15,
        zoom: [0.75, 1.25],
      });
    });
  }

  it('finds the batches in the folder the official archive unpacks to', async () => {
    const root = tmp();
    copyDir(join(FIXTURES, 'cifar10-py2'), join(root, 'cifar-10-batches-py'));
    const ds = await loadDataset('cifar-10', { dataRoot: root, split: 'test' });
    expect(ds.labels.length).toBe(C10_TEST);
    expect(ds.name).toBe('CIFAR-10');
  });

  it('restricts to given classes and re-enumerates them in that order (reference: classes = ind2label)', async () => {
    const { train } = await loadDatasetSplits('CIFAR-10', {
      dataRoot: join(FIXTURES, 'cifar10-py3'),
      classes: [7, 1, '4'],
    });
    const keep = Array.from({ length: C10_TRAIN }, (_, i) => i).filter((i) => [7, 1, 4].includes(lbl10(i)));
    expectImages(train.images, keep);
    expect(Array.from(train.labels)).toEqual(keep.map((i) => [7, 1, 4].indexOf(lbl10(i))));
    expect(train.numClasses).toBe(3);
    expect(train.classIds).toEqual([7, 1, 4]);
    expect(train.classNames).toEqual(['horse', 'automobile', 'deer']);
    // Ids that are no CIFAR-10 label keep their index without samples (the reference selects `lbl in classes`).
    const extra = await loadDataset('CIFAR-10', { dataRoot: join(FIXTURES, 'cifar10-py3'), classes: [12, 'n0144', 4] });
    expect(extra.numClasses).toBe(3);
    expect(Array.from(extra.labels)).toEqual(keep.filter((i) => lbl10(i) === 4).map(() => 2));
    expect(extra.classNames).toEqual(['12', 'n0144', 'deer']);
    await expectUserError(
      () => loadDataset('CIFAR-10', { dataRoot: join(FIXTURES, 'cifar10-py3'), classes: [10, 'n01440764'] }),
      /none of the 2 classes/,
      /CIFAR-10 label \(0\.\.9\)/,
      /wrong class embedding/,
    );
  });
});

describe('CIFAR-100 readers', () => {
  for (const dir of ['cifar100-py2', 'cifar100-py3', 'cifar100-bin']) {
    it(`reads the ${dir} layout with fine and coarse labels`, async () => {
      const root = join(FIXTURES, dir);
      const { train, test } = await loadDatasetSplits('CIFAR-100', { dataRoot: root });
      const trainIds = expectSplit(train, ids(C100_TRAIN, 0), fine100);
      expectSplit(test, ids(C100_TEST, 5000), fine100);
      expect(train.numClasses).toBe(100);
      expect(train.classNames?.[42]).toBe('class_42');
      expect(train.augmentation).toMatchObject({ kind: 'keras', zoom: null });
      const raw = readCifarSplit(root, 100, 'train');
      expect(Array.from(raw.coarseLabels!)).toEqual(trainIds.map((i) => Math.floor(fine100(i) / 5)));
      expect(raw.layout).toBe(dir.endsWith('bin') ? 'binary' : 'python');
    });
  }

  it('CIFAR-100-a / -b keep the original labels (reference: reenumerate only with -consec)', async () => {
    const root = join(FIXTURES, 'cifar100-py2');
    const ids = Array.from({ length: C100_TRAIN }, (_, i) => i);
    const a = await loadDataset('CIFAR-100-a', { dataRoot: root });
    const b = await loadDataset('CIFAR-100-b', { dataRoot: root });
    const bc = await loadDataset('CIFAR-100-b-consec', { dataRoot: root });
    const inA = ids.filter((i) => fine100(i) < 50);
    const inB = ids.filter((i) => fine100(i) >= 50);
    expectImages(a.images, inA);
    expectImages(b.images, inB);
    expect(Array.from(a.labels)).toEqual(inA.map(fine100));
    expect(Array.from(b.labels)).toEqual(inB.map(fine100));
    expect(Array.from(bc.labels)).toEqual(inB.map((i) => fine100(i) - 50));
    expect(a.numClasses).toBe(50);
    expect(b.numClasses).toBe(100);
    expect(bc.numClasses).toBe(50);
    expect(bc.classNames?.[0]).toBe('class_50');
    // Stats are those of the restricted training set.
    expect(b.mean).toEqual(featurewiseStats(b.images, 3).mean);
  });
});

describe('CIFAR errors', () => {
  it('names where it looked and how to get the data when files are missing', async () => {
    const root = tmp();
    await expectUserError(
      () => loadDataset('CIFAR-100', { dataRoot: root }),
      /CIFAR-100 train batches not found/,
      new RegExp(root),
      /cs\.toronto\.edu/,
    );
    await expectUserError(() => loadDataset('CIFAR-10', { dataRoot: join(root, 'nope') }), /does not exist/);
    await expectUserError(() => loadDataset('CIFAR-10', {}), /--data_root/);
  });

  it('rejects a truncated binary batch, naming the file', async () => {
    const root = copyDir(join(FIXTURES, 'cifar10-bin'), tmp());
    const f = join(root, 'data_batch_3.bin');
    writeFileSync(f, readFileSync(f).subarray(0, 3073 * 2 + 100));
    await expectUserError(
      () => loadDataset('CIFAR-10', { dataRoot: root }),
      new RegExp(f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      /3073-byte/,
      /truncated/,
    );
  });

  it('rejects CIFAR-100 binary records read as CIFAR-10 by their length', async () => {
    const root = tmp();
    for (const n of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'])
      copyFileSync(join(FIXTURES, 'cifar100-bin', 'test.bin'), join(root, `${n}.bin`));
    await expectUserError(
      () => loadDataset('CIFAR-10', { dataRoot: root }),
      /not a whole number of 3073-byte CIFAR-10 records/,
    );
  });

  it('rejects a truncated pickle, a wrong-variant pickle and out-of-range labels', async () => {
    const root = copyDir(join(FIXTURES, 'cifar100-py2'), tmp());
    const f = join(root, 'train');
    const whole = readFileSync(f);
    writeFileSync(f, whole.subarray(0, whole.length - 200));
    await expectUserError(() => loadDataset('CIFAR-100', { dataRoot: root }), new RegExp(`${root}/train`));
    // CIFAR-10 batches under CIFAR-100 names: the labels key differs.
    const r2 = tmp();
    copyFileSync(join(FIXTURES, 'cifar10-py2', 'data_batch_1'), join(r2, 'train'));
    copyFileSync(join(FIXTURES, 'cifar10-py2', 'test_batch'), join(r2, 'test'));
    await expectUserError(() => loadDataset('CIFAR-100', { dataRoot: r2 }), /no 'fine_labels'/, /looks like CIFAR-10/);
    // A binary CIFAR-10 record with label 12.
    const r3 = copyDir(join(FIXTURES, 'cifar10-bin'), tmp());
    const g = join(r3, 'test_batch.bin');
    const buf = readFileSync(g);
    buf[3073] = 12;
    writeFileSync(g, buf);
    await expectUserError(
      () => loadDataset('CIFAR-10', { dataRoot: r3, split: 'test' }),
      /test_batch\.bin/,
      /is 12, outside 0\.\.9/,
    );
  });

  it('refuses a pickle that would run code, naming the file', async () => {
    const root = copyDir(join(FIXTURES, 'cifar10-py3'), tmp());
    // protocol 2: GLOBAL os.system, then REDUCE ('echo') -- the classic malicious pickle.
    const evil = Buffer.concat([
      Buffer.from([0x80, 0x02]),
      Buffer.from('cos\nsystem\nq\x00X\x04\x00\x00\x00echoq\x01\x85q\x02Rq\x03.', 'latin1'),
    ]);
    writeFileSync(join(root, 'test_batch'), evil);
    await expectUserError(
      () => loadDataset('CIFAR-10', { dataRoot: root, split: 'test', stats: { mean: [0, 0, 0], std: [1, 1, 1] } }),
      /test_batch/,
      /os\.system/,
    );
  });

  it('rejects the -ilsvrcmean / -caffe suffixes and unknown names like the reference', async () => {
    await expectUserError(
      () => loadDataset('CIFAR-100-caffe', { dataRoot: FIXTURES }),
      /folder datasets only|image-folder datasets only/,
    );
    await expectUserError(() => loadDataset('SVHN', {}), /unknown dataset 'SVHN'/, /CIFAR-100-a/);
  });
});

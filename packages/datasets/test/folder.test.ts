import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  batches,
  loadDataset,
  loadDatasetSplits,
  normalizedImages,
  KNOWN_STATS,
  BatchComposer,
  Rng,
} from '../src/index.js';
import { expectUserError, tmp } from './helpers.js';

/** Deterministic RGB pixels for image `seed` (8x8 unless given). */
function pixels(seed: number, w = 8, h = 8, ch = 3): Buffer {
  return Buffer.from(Uint8Array.from({ length: w * h * ch }, (_, i) => (i * 29 + seed * 71) % 256));
}

async function png(path: string, data: Buffer, w = 8, h = 8, ch: 1 | 3 | 4 = 3) {
  await sharp(data, { raw: { width: w, height: h, channels: ch } })
    .png()
    .toFile(path);
}

async function makeSplitFolders(root: string) {
  const files: Record<string, { cls: string; seed: number }[]> = { train: [], test: [] };
  let seed = 0;
  for (const split of ['train', 'test'])
    for (const cls of ['dog', 'cat', 'bird'])
      for (let k = 0; k < (split === 'train' ? 3 : 1); k++) {
        mkdirSync(join(root, split, cls), { recursive: true });
        await png(join(root, split, cls, `img${k}.png`), pixels(seed));
        files[split].push({ cls, seed: seed++ });
      }
  writeFileSync(join(root, 'train', 'dog', 'notes.txt'), 'not an image');
  mkdirSync(join(root, 'train', '.hidden'), { recursive: true });
  return files;
}

describe('image folders', () => {
  it('reads <root>/train|test/<class>/ with sorted class folders and exact PNG pixels', async () => {
    const root = tmp();
    const files = await makeSplitFolders(root);
    const { train, test } = await loadDatasetSplits('folder', { dataRoot: root, imageSize: 8, cropSize: 8 });
    expect(train.classNames).toEqual(['bird', 'cat', 'dog']);
    expect(train.numClasses).toBe(3);
    expect(train.labels.length).toBe(9);
    expect(test.labels.length).toBe(3);
    // Listing order: classes sorted, files sorted within; check every image's pixels and label.
    const order = ['bird', 'cat', 'dog'].flatMap((c) => files.train.filter((f) => f.cls === c));
    order.forEach((f, i) => {
      expect(train.labels[i]).toBe(['bird', 'cat', 'dog'].indexOf(f.cls));
      expect(Buffer.compare(Buffer.from(train.images.subarray(i * 192, (i + 1) * 192)), pixels(f.seed))).toBe(0);
    });
    // Reference _compute_stats: mean of per-image means; std over images with (N - 1).
    for (let c = 0; c < 3; c++) {
      const means = order.map((f) => {
        const p = pixels(f.seed);
        let s = 0;
        for (let q = c; q < p.length; q += 3) s += p[q];
        return s / 64;
      });
      const m = means.reduce((a, b) => a + b, 0) / means.length;
      const v = order.map((f) => {
        const p = pixels(f.seed);
        let s = 0;
        for (let q = c; q < p.length; q += 3) s += (p[q] - Math.fround(m)) ** 2;
        return s / 64;
      });
      expect(train.mean[c]).toBeCloseTo(m, 9);
      expect(train.std[c]).toBeCloseTo(Math.sqrt(v.reduce((a, b) => a + b, 0) / (order.length - 1)), 9);
    }
    expect(test.mean).toEqual(train.mean);
    expect(train.augmentation).toMatchObject({ kind: 'crop', horizontalFlip: true, randomErase: 0.5 });
  });

  it('reads the reference layout (<root>/<class>/ + train.txt/test.txt) and honours a class list', async () => {
    const root = tmp();
    for (const cls of ['a', 'b', 'c']) {
      mkdirSync(join(root, cls));
      for (let k = 0; k < 2; k++) await png(join(root, cls, `${k}.png`), pixels(k + cls.charCodeAt(0)));
    }
    writeFileSync(join(root, 'train.txt'), 'a/0.png\nb/0.png\nc/0.png\n\nc/1.png\n');
    writeFileSync(join(root, 'test.txt'), 'a/1.png\nb/1.png\n');
    const { train, test } = await loadDatasetSplits('folder', {
      dataRoot: root,
      imageSize: 8,
      cropSize: 8,
      classes: ['c', 'a'],
    });
    expect(Array.from(train.labels)).toEqual([1, 0, 0]);
    expect(Array.from(test.labels)).toEqual([1]);
    expect(train.classIds).toEqual(['c', 'a']);
    expect(Buffer.compare(Buffer.from(train.images.subarray(0, 192)), pixels(0 + 97))).toBe(0);
    writeFileSync(join(root, 'test.txt'), 'a/1.png\nb/7.png\n');
    await expectUserError(
      () =>
        loadDataset('folder', { dataRoot: root, split: 'test', imageSize: 8, cropSize: 8, stats: KNOWN_STATS.ILSVRC }),
      /test\.txt:2: image b\/7\.png does not exist/,
    );
  });

  it('converts gray and RGBA to RGB, resizes the smaller side and centre-crops', async () => {
    const root = tmp();
    for (const s of ['train', 'test']) mkdirSync(join(root, s, 'x'), { recursive: true });
    await png(join(root, 'train', 'x', '1-gray.png'), pixels(3, 8, 8, 1), 8, 8, 1);
    await png(join(root, 'train', 'x', '2-rgba.png'), pixels(4, 8, 8, 4), 8, 8, 4);
    // 16x8: left half red, right half blue -> smaller side 8 -> 4 gives 8x4, centre crop keeps columns 2..5.
    const wide = Buffer.alloc(16 * 8 * 3);
    for (let r = 0; r < 8; r++) for (let c = 0; c < 16; c++) wide[(r * 16 + c) * 3 + (c < 8 ? 0 : 2)] = 255;
    await png(join(root, 'test', 'x', 'wide.png'), wide, 16, 8);
    await sharp(pixels(5), { raw: { width: 8, height: 8, channels: 3 } })
      .jpeg({ quality: 95 })
      .toFile(join(root, 'train', 'x', '3.jpg'));
    const train = await loadDataset('folder', { dataRoot: root, imageSize: 8, cropSize: 8 });
    const gray = pixels(3, 8, 8, 1);
    for (let p = 0; p < 64; p++) for (let c = 0; c < 3; c++) expect(train.images[p * 3 + c]).toBe(gray[p]);
    const rgba = pixels(4, 8, 8, 4);
    for (let p = 0; p < 64; p++)
      for (let c = 0; c < 3; c++) expect(train.images[192 + p * 3 + c]).toBe(rgba[p * 4 + c]);
    const jpg = pixels(5);
    let err = 0;
    for (let p = 0; p < 192; p++) err += Math.abs(train.images[384 + p] - jpg[p]);
    expect(err / 192).toBeLessThan(40); // lossy, but the same picture
    const test = await loadDataset('folder', {
      dataRoot: root,
      split: 'test',
      imageSize: 4,
      cropSize: 4,
      stats: KNOWN_STATS.ILSVRC,
    });
    expect(test.shape).toEqual([4, 4, 3]);
    for (let r = 0; r < 4; r++) {
      expect(Array.from(test.images.subarray(r * 4 * 3, r * 4 * 3 + 3))).toEqual([255, 0, 0]);
      expect(Array.from(test.images.subarray((r * 4 + 3) * 3, (r * 4 + 3) * 3 + 3))).toEqual([0, 0, 255]);
    }
  });

  it('-ilsvrcmean and -caffe use the reference constants; -caffe feeds BGR', async () => {
    const root = tmp();
    await makeSplitFolders(root);
    const il = await loadDataset('folder-ilsvrcmean', { dataRoot: root, split: 'test', imageSize: 8, cropSize: 8 });
    expect(il.mean).toEqual([122.65435242, 116.6545058, 103.99789959]);
    expect(il.std).toEqual([71.40583196, 69.56888997, 73.0440314]);
    expect(il.colorMode).toBe('rgb');
    const cf = await loadDataset('folder-caffe', { dataRoot: root, split: 'test', imageSize: 8, cropSize: 8 });
    expect(cf.mean).toEqual([123.68, 116.779, 103.939]);
    expect(cf.std).toEqual([1, 1, 1]);
    expect(cf.colorMode).toBe('bgr');
    const x = normalizedImages(cf);
    expect(x[0]).toBeCloseTo(cf.images[2] - 103.939, 4);
    expect(x[2]).toBeCloseTo(cf.images[0] - 123.68, 4);
  });

  it('crops: centre window without augmentation, seeded random window + flip + erasing with it', async () => {
    const root = tmp();
    await makeSplitFolders(root);
    const ds = await loadDataset('folder-ilsvrcmean', { dataRoot: root, imageSize: 8, cropSize: 6 });
    expect(ds.shape).toEqual([8, 8, 3]);
    expect(ds.inputShape).toEqual([6, 6, 3]);
    const x = normalizedImages(ds);
    expect(x.length).toBe(9 * 6 * 6 * 3);
    const sc = (v: number, c: number) => (v - ds.mean[c]) / ds.std[c];
    // centre crop offset (8 - 6) / 2 = 1
    for (let r = 0; r < 6; r++)
      for (let c = 0; c < 6; c++)
        for (let k = 0; k < 3; k++)
          expect(x[(r * 6 + c) * 3 + k]).toBeCloseTo(sc(ds.images[((r + 1) * 8 + c + 1) * 3 + k], k), 4);
    const a = [...batches(ds, { batchSize: 4, seed: 3, augment: true, reuseBuffer: false })].map((b) =>
      Array.from(b.x),
    );
    const b = [...batches(ds, { batchSize: 4, seed: 3, augment: true, reuseBuffer: false })].map((b) =>
      Array.from(b.x),
    );
    expect(a).toEqual(b);
    // Every augmented image is a flipped-or-not crop of its source, except inside an erased rectangle.
    const comp = new BatchComposer(ds);
    const rng = new Rng(0);
    let erased = 0;
    let flipped = 0;
    for (let i = 0; i < 400; i++) {
      const t = comp.drawCrop(rng);
      expect(t.oy).toBeGreaterThanOrEqual(0);
      expect(t.oy).toBeLessThanOrEqual(2);
      expect(t.ox).toBeLessThanOrEqual(2);
      if (t.erase) {
        erased++;
        expect(t.erase.h * t.erase.w).toBeLessThanOrEqual(0.3 * 64 + 1e-9);
        expect(t.erase.y + t.erase.h).toBeLessThanOrEqual(8);
        expect(t.erase.x + t.erase.w).toBeLessThanOrEqual(8);
      }
      if (t.flip) flipped++;
    }
    expect(erased / 400).toBeGreaterThan(0.4);
    expect(erased / 400).toBeLessThan(0.6);
    expect(flipped / 400).toBeGreaterThan(0.4);
    const out = new Float32Array(6 * 6 * 3);
    comp.cropImage(0, { oy: 2, ox: 0, flip: true, erase: null }, out, 0);
    for (let r = 0; r < 6; r++)
      for (let c = 0; c < 6; c++)
        for (let k = 0; k < 3; k++)
          expect(out[(r * 6 + c) * 3 + k]).toBeCloseTo(sc(ds.images[((r + 2) * 8 + (7 - c)) * 3 + k], k), 4);
  });

  it('clear errors: no such folder, wrong layout, undecodable image, crop larger than image', async () => {
    const root = tmp();
    await expectUserError(
      () => loadDataset('folder', { dataRoot: join(root, 'nope') }),
      /does not exist/,
      /train\/<class>/,
    );
    mkdirSync(join(root, 'stuff'));
    await expectUserError(() => loadDataset('folder', { dataRoot: root }), /is not an image-folder dataset/);
    await expectUserError(() => loadDataset('folder', {}), /--data_root/);
    const r2 = tmp();
    await makeSplitFolders(r2);
    const bad = join(r2, 'train', 'cat', 'broken.png');
    writeFileSync(bad, Buffer.from('\x89PNG\r\n\x1a\n not really a png', 'latin1'));
    await expectUserError(
      () => loadDataset('folder', { dataRoot: r2, imageSize: 8, cropSize: 8 }),
      new RegExp(`${bad.replace(/[.]/g, '\\.')}: cannot decode image`),
    );
    const r3 = tmp();
    await makeSplitFolders(r3);
    await expectUserError(
      () => loadDataset('folder', { dataRoot: r3, imageSize: 8, cropSize: 10 }),
      /cropSize 10 is larger than imageSize 8/,
    );
    const some = await loadDataset('folder', { dataRoot: r3, imageSize: 8, cropSize: 8, classes: ['cow', 'cat'] });
    expect(Array.from(some.labels)).toEqual([1, 1, 1]);
    expect(some.numClasses).toBe(2);
    await expectUserError(
      () => loadDataset('folder', { dataRoot: r3, imageSize: 8, classes: ['cow', 'pig'] }),
      /none of the 2 classes/,
      /has a folder/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import {
  batches,
  numBatches,
  epochOrder,
  normalizedImages,
  BatchComposer,
  Rng,
  applyKerasTransform,
  memoryDataset,
  type Dataset,
} from '../src/index.js';

function dataset(n: number, shape: [number, number, number] = [6, 5, 3], seed = 1): Dataset {
  const rng = new Rng(seed);
  const images = Uint8Array.from({ length: n * shape[0] * shape[1] * shape[2] }, () => rng.int(256));
  return memoryDataset(images, shape, {
    labels: Int32Array.from({ length: n }, (_, i) => i % 7),
    numClasses: 7,
    mean: [100, 120, 90].slice(0, shape[2]),
    std: [50, 60, 70].slice(0, shape[2]),
    stdEpsilon: 1e-6,
    augmentation: { kind: 'keras', horizontalFlip: true, widthShift: 0.15, heightShift: 0.15, zoom: null },
  });
}

const collect = (ds: Dataset, o: Parameters<typeof batches>[1]) =>
  [...batches(ds, { ...o, reuseBuffer: false })].map((b) => ({
    x: Array.from(b.x),
    labels: Array.from(b.labels),
    indices: Array.from(b.indices),
    size: b.size,
  }));

describe('batches', () => {
  it('normalises as (pixel - mean) / (std + eps) per channel, in order, with a smaller last batch', () => {
    const ds = dataset(23);
    const bs = [...batches(ds, { batchSize: 10, reuseBuffer: false })];
    expect(bs.map((b) => b.size)).toEqual([10, 10, 3]);
    expect(numBatches(23, 10)).toBe(3);
    expect(bs[2].shape).toEqual([3, 6, 5, 3]);
    const per = 6 * 5 * 3;
    for (const b of bs)
      for (let i = 0; i < b.size; i++) {
        const idx = b.indices[i];
        expect(b.labels[i]).toBe(ds.labels[idx]);
        for (let p = 0; p < per; p++) {
          const c = p % 3;
          expect(b.x[i * per + p]).toBeCloseTo((ds.images[idx * per + p] - ds.mean[c]) / (ds.std[c] + 1e-6), 5);
        }
      }
    expect(bs.flatMap((b) => Array.from(b.indices))).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect([...batches(ds, { batchSize: 10, dropRemainder: true })].length).toBe(2);
    expect(Array.from(normalizedImages(ds))).toEqual(bs.flatMap((b) => Array.from(b.x)));
  });

  it('shuffles every sample exactly once per epoch; same seed and epoch -> same batches', () => {
    const ds = dataset(50);
    const a = collect(ds, { batchSize: 8, shuffle: true, seed: 7, augment: true });
    const b = collect(ds, { batchSize: 8, shuffle: true, seed: 7, augment: true });
    expect(a).toEqual(b);
    const idx = a.flatMap((x) => x.indices);
    expect([...idx].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(idx).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    const otherSeed = collect(ds, { batchSize: 8, shuffle: true, seed: 8, augment: true });
    const otherEpoch = collect(ds, { batchSize: 8, shuffle: true, seed: 7, epoch: 1, augment: true });
    expect(otherSeed.flatMap((x) => x.indices)).not.toEqual(idx);
    expect(otherEpoch.flatMap((x) => x.indices)).not.toEqual(idx);
    expect(Array.from(epochOrder(50, { shuffle: true, seed: 7, epoch: 1 }))).toEqual(
      otherEpoch.flatMap((x) => x.indices),
    );
  });

  it('augments only when asked; augmented images are the Keras transform of the source, normalised', () => {
    const ds = dataset(12);
    const plain = collect(ds, { batchSize: 12, seed: 1 });
    const aug = collect(ds, { batchSize: 12, seed: 1, augment: true });
    expect(plain[0].x).toEqual(Array.from(normalizedImages(ds)));
    expect(aug[0].x).not.toEqual(plain[0].x);
    // Replay the draws: batches() uses Rng(seed, epoch, 2) for augmentation, one draw per image in batch order.
    const comp = new BatchComposer(ds);
    const rng = new Rng(1, 0, 2);
    const per = 6 * 5 * 3;
    for (let i = 0; i < 12; i++) {
      const t = comp.drawKeras(rng);
      const px = applyKerasTransform(ds.images.subarray(i * per, (i + 1) * per), [6, 5, 3], t);
      for (let p = 0; p < per; p++)
        expect(aug[0].x[i * per + p]).toBeCloseTo((px[p] - ds.mean[p % 3]) / (ds.std[p % 3] + 1e-6), 4);
    }
  });

  it('reuses one buffer by default (documented: consume before the next batch)', () => {
    const ds = dataset(20);
    const it = batches(ds, { batchSize: 10 });
    const first = it.next().value!;
    const saved = Array.from(first.x);
    const second = it.next().value!;
    expect(second.x.buffer).toBe(first.x.buffer);
    expect(Array.from(first.x)).not.toEqual(saved);
    expect(() => batches(ds, { batchSize: 0 }).next()).toThrow(/batchSize/);
  });

  it('BGR input (the -caffe variants): each output channel is the reversed stored channel with its own mean/std', () => {
    const ds = { ...dataset(3), colorMode: 'bgr' as const };
    const x = normalizedImages(ds);
    const per = 6 * 5 * 3;
    for (let p = 0; p < 3 * per; p += 3)
      for (let k = 0; k < 3; k++)
        expect(x[p + k]).toBeCloseTo((ds.images[p + 2 - k] - ds.mean[2 - k]) / (ds.std[2 - k] + 1e-6), 5);
  });
});

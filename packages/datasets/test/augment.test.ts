import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyKerasTransform,
  BatchComposer,
  memoryDataset,
  Rng,
  type Augmentation,
  type Dataset,
} from '../src/index.js';
import { FIXTURES } from './helpers.js';

interface Case {
  shape: [number, number, number];
  image: number[];
  tx: number;
  ty: number;
  zx: number;
  zy: number;
  flip: boolean;
  expected: number[];
}
const ref = JSON.parse(readFileSync(join(FIXTURES, 'augmentation.json'), 'utf8')) as { cases: Case[] };

function memDataset(
  images: Uint8Array,
  shape: [number, number, number],
  zoom: [number, number] | null = null,
): Dataset {
  return memoryDataset(images, shape, {
    colorMode: 'rgb',
    augmentation: { kind: 'keras', horizontalFlip: true, widthShift: 0.15, heightShift: 0.15, zoom },
  });
}

describe('Keras-style augmentation', () => {
  it(`matches scipy.ndimage.affine_transform(order=1, mode='nearest') on the Keras matrix (${ref.cases.length} cases)`, () => {
    for (const c of ref.cases) {
      const got = applyKerasTransform(Uint8Array.from(c.image), c.shape, c);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - c.expected[i]));
      expect(worst, `tx=${c.tx} ty=${c.ty} zx=${c.zx} zy=${c.zy} flip=${c.flip} shape=${c.shape}`).toBeLessThan(1e-3);
    }
  });

  it('draws shifts within +-15% of the size, flips half of the images, zooms only when configured', () => {
    const shape: [number, number, number] = [32, 20, 3];
    const comp = new BatchComposer(memDataset(new Uint8Array(32 * 20 * 3), shape));
    const rng = new Rng(3);
    let flips = 0;
    let maxTx = 0;
    let maxTy = 0;
    const N = 4000;
    for (let i = 0; i < N; i++) {
      const t = comp.drawKeras(rng);
      expect(Math.abs(t.tx)).toBeLessThanOrEqual(0.15 * 32);
      expect(Math.abs(t.ty)).toBeLessThanOrEqual(0.15 * 20);
      expect(t.zx).toBe(1);
      maxTx = Math.max(maxTx, Math.abs(t.tx));
      maxTy = Math.max(maxTy, Math.abs(t.ty));
      if (t.flip) flips++;
    }
    expect(maxTx).toBeGreaterThan(0.14 * 32);
    expect(maxTy).toBeGreaterThan(0.14 * 20);
    expect(Math.abs(flips / N - 0.5)).toBeLessThan(0.04);
    const zoomed = new BatchComposer(memDataset(new Uint8Array(32 * 20 * 3), shape, [0.75, 1.25]));
    const zs = Array.from({ length: 500 }, () => zoomed.drawKeras(rng));
    expect(Math.min(...zs.map((t) => t.zx))).toBeGreaterThanOrEqual(0.75);
    expect(Math.max(...zs.map((t) => t.zy))).toBeLessThan(1.25);
    expect(new Set(zs.map((t) => t.zx)).size).toBe(500);
  });

  it('a whole-pixel shift moves content and repeats the edge (nearest fill); flip mirrors columns', () => {
    const [H, W] = [4, 5];
    const img = Uint8Array.from({ length: H * W }, (_, i) => i * 10);
    const shifted = applyKerasTransform(img, [H, W, 1], { tx: 1, ty: -2, zx: 1, zy: 1, flip: false });
    for (let r = 0; r < H; r++)
      for (let c = 0; c < W; c++) {
        const sr = Math.min(Math.max(r + 1, 0), H - 1);
        const sc = Math.min(Math.max(c - 2, 0), W - 1);
        expect(shifted[r * W + c]).toBe(img[sr * W + sc]);
      }
    const flipped = applyKerasTransform(img, [H, W, 1], { tx: 0, ty: 0, zx: 1, zy: 1, flip: true });
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) expect(flipped[r * W + c]).toBe(img[r * W + (W - 1 - c)]);
  });

  it('one channel (its own loop) gives, bit for bit, what the channel loop gives each of three equal channels', () => {
    const [H, W] = [9, 7];
    const n = 4;
    const gray = Uint8Array.from({ length: n * H * W }, (_, i) => (i * 37 + 11) % 256);
    const rgb = new Uint8Array(gray.length * 3).map((_, i) => gray[Math.floor(i / 3)]);
    const stats = { mean: [120.5], std: [61.25], stdEpsilon: 1e-6 };
    const aug: Augmentation = {
      kind: 'keras',
      horizontalFlip: true,
      widthShift: 0.3,
      heightShift: 0.3,
      zoom: [0.7, 1.4],
    };
    const one = memoryDataset(gray, [H, W, 1], { ...stats, augmentation: aug });
    const three = memoryDataset(rgb, [H, W, 3], {
      mean: [120.5, 120.5, 120.5],
      std: [61.25, 61.25, 61.25],
      stdEpsilon: 1e-6,
      augmentation: aug,
    });
    const idx = [0, 1, 2, 3, 2, 1, 0, 3];
    const a = new Float32Array(idx.length * H * W);
    const b = new Float32Array(idx.length * H * W * 3);
    new BatchComposer(one).compose(idx, idx.length, a, true, new Rng(5, 1, 2));
    new BatchComposer(three).compose(idx, idx.length, b, true, new Rng(5, 1, 2));
    let flips = 0;
    const r = new Rng(5, 1, 2);
    for (let i = 0; i < idx.length; i++) if (new BatchComposer(one).drawKeras(r).flip) flips++;
    expect(flips).toBeGreaterThan(0); // both paths' flipped columns are compared
    expect(flips).toBeLessThan(idx.length);
    for (let i = 0; i < a.length; i++) for (let k = 0; k < 3; k++) expect(b[i * 3 + k]).toBe(a[i]);
  });
});

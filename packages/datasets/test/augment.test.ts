import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyKerasTransform, BatchComposer, memoryDataset, Rng, type Dataset } from '../src/index.js';
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
});

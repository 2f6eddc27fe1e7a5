import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pixelsToTensor, validateSidecar as nodeValidate, type Sidecar as NodeSidecar } from '@semembed/runtime-node';
import { mulberry32 as rng } from '@semembed/formats';
import { SidecarError } from '@semembed/model';
import {
  GalleryError,
  encodeGallery,
  grayOf,
  parseGallery,
  rgbaToTensor,
  validateSidecar,
  type Sidecar,
} from '../src/index.js';
import { fixture, maxAbsDiff } from './helpers.js';

describe('gallery file', () => {
  const rows = 50;
  const dim = 7;
  const r = rng(3);
  const feat = Float32Array.from({ length: rows * dim }, () => r() * 2 - 1);
  const ids = Array.from({ length: rows }, (_, i) => `id${i}`);
  const labels = Array.from({ length: rows }, (_, i) => String(i % 3));
  const thumbs = Uint8Array.from({ length: rows * 4 * 5 }, (_, i) => i % 256);

  it('float32 round-trips exactly and searches like brute force', () => {
    const bytes = encodeGallery(feat, {
      rows,
      dim,
      ids,
      labels,
      thumbnails: { data: thumbs, width: 5, height: 4, channels: 1 },
    });
    // Parse from an odd offset inside a larger buffer (as a fetch slice could be).
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    const g = parseGallery(big.subarray(3), 'g.bin');
    // A Node Buffer (what readFileSync gives) whose slice() does not copy.
    const fromBuffer = parseGallery(Buffer.concat([Buffer.alloc(5), Buffer.from(bytes)]).subarray(5), 'buf.bin');
    expect(Array.from(fromBuffer.features)).toEqual(Array.from(feat));
    expect(g.size).toBe(rows);
    expect(Array.from(g.features)).toEqual(Array.from(feat));
    const q = Float32Array.from({ length: dim }, () => r() - 0.5);
    const sims = Array.from({ length: rows }, (_, i) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += Math.fround(feat[i * dim + j] * q[j]);
      return s;
    });
    const order = sims.map((_, i) => i).sort((a, b) => sims[b] - sims[a] || a - b);
    const m = g.search(q, 5);
    expect(m.map((x) => x.index)).toEqual(order.slice(0, 5));
    expect(m[0]).toMatchObject({ rank: 1, id: `id${order[0]}`, label: labels[order[0]] });
    expect(Math.abs(m[0].similarity - sims[order[0]])).toBeLessThan(1e-5);
    const t = g.thumbnailRGBA(2)!;
    expect([t.width, t.height]).toEqual([5, 4]);
    expect(t.data[0]).toBe(thumbs[40]);
    expect(t.data[3]).toBe(255);
  });

  it('float16 is half the size and within float16 precision', () => {
    const f32 = encodeGallery(feat, { rows, dim });
    const f16 = encodeGallery(feat, { rows, dim, dtype: 'float16' });
    expect(f16.length).toBeLessThan(f32.length * 0.6 + 200);
    const g = parseGallery(f16);
    expect(maxAbsDiff(g.features, feat)).toBeLessThanOrEqual(2 ** -11);
  });

  it('refuses broken files with the file name and what is wrong', () => {
    const ok = encodeGallery(feat, { rows, dim });
    expect(() => parseGallery(new TextEncoder().encode('hello world, not a gallery'), 'x.bin')).toThrow(
      /^x\.bin: not a semembed gallery file/,
    );
    expect(() => parseGallery(ok.subarray(0, ok.length - 8), 'cut.bin')).toThrow(
      /^cut\.bin: features block .* lies outside the file/,
    );
    const bad = ok.slice();
    bad[13] = 0x7b; // break the JSON
    expect(() => parseGallery(bad, 'b.bin')).toThrow(GalleryError);
    expect(() => encodeGallery(feat, { rows, dim: 8 })).toThrow(/features have 350 values, expected 50 x 8/);
    expect(() => encodeGallery(feat, { rows, dim, ids: ['a'] })).toThrow(/ids has 1 entries, the features 50 rows/);
    expect(() => parseGallery(ok).search(new Float32Array(3))).toThrow(/query has 3 dimensions, the gallery 7/);
  });
});

describe("the RGBA path (canvas pixels, gray by luminance) equals runtime-node's interleaved path", () => {
  const sidecars = ['fashion-tiny.json', 'rgb-nchw.json'].map(
    (f) => JSON.parse(readFileSync(fixture(f), 'utf8')) as Sidecar,
  );
  for (const sc of sidecars) {
    it(`${sc.input.layout} ${sc.preprocessing.colorSpace}`, () => {
      const [H, W] = sc.preprocessing.resize;
      const C = sc.input.channels;
      const r = rng(4);
      const interleaved = Uint8Array.from({ length: H * W * C }, () => Math.floor(r() * 256));
      const rgba = new Uint8ClampedArray(H * W * 4);
      for (let i = 0; i < H * W; i++) {
        for (let c = 0; c < 3; c++) rgba[4 * i + c] = interleaved[i * C + (C === 1 ? 0 : c)];
        rgba[4 * i + 3] = 255;
      }
      const a = new Float32Array(H * W * C + 5);
      const b = new Float32Array(H * W * C + 5);
      rgbaToTensor(rgba, sc, a, 5);
      pixelsToTensor(interleaved, sc as unknown as NodeSidecar, b, 5);
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-6);
    });
  }

  it('gray of colour pixels is sRGB luminance in linear light (libvips b-w)', () => {
    expect(grayOf(77, 77, 77)).toBe(77);
    expect(grayOf(255, 255, 255)).toBe(255);
    expect(grayOf(255, 0, 0)).toBe(127); // 0.2126 linear -> sRGB 127
    expect(grayOf(0, 255, 0)).toBe(220);
    expect(grayOf(0, 0, 255)).toBe(76);
  });
});

describe('sidecar validation', () => {
  const good = JSON.parse(readFileSync(fixture('fashion-tiny.json'), 'utf8'));
  it('accepts what runtime-node accepts, refuses what it refuses, naming the field', () => {
    expect(validateSidecar(good, 's.json').input.name).toBe('input');
    const cases: [unknown, RegExp][] = [
      [{ ...good, format: 'x' }, /^s\.json: format: must be "semembed-onnx-sidecar\/1"/],
      [{ ...good, input: { ...good.input, layout: 'HWC' } }, /input\.layout: must be one of "NHWC", "NCHW"/],
      [{ ...good, preprocessing: { ...good.preprocessing, std: [0] } }, /preprocessing\.std\[0\]: must not be 0/],
      [
        { ...good, preprocessing: { ...good.preprocessing, resize: [32, 32] } },
        /preprocessing\.resize: \[32,32\] differs from the input size \[28, 28\]/,
      ],
      [{ ...good, outputs: [] }, /outputs: must have at least 1 entry/],
      [{ ...good, classEmbedding: [[1, 2]] }, /classEmbedding: rows have 2 values/],
      ['[]', /not a JSON object/],
    ];
    for (const [raw, re] of cases) {
      expect(() => validateSidecar(raw, 's.json')).toThrow(SidecarError);
      expect(() => validateSidecar(raw, 's.json')).toThrow(re);
      expect(() => nodeValidate(raw, 's.json')).toThrow();
    }
  });
});

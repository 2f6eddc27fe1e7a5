import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pixelsToTensor, validateSidecar as nodeValidate, type Sidecar as NodeSidecar } from '@semembed/runtime-node';
import { GalleryError, ModelLoadError, encodeGallery, float32ToHalf, fromHalf, grayOf, halfToFloat32, parseGallery, rgbaToTensor, toHalf, topK, validateSidecar, type Sidecar } from '../src/index.js';
import { fixture, maxAbsDiff } from './helpers.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('topK', () => {
  it('equals a full sort (value desc, index asc) for random data with ties, any k', () => {
    const r = rng(1);
    for (const n of [1, 2, 7, 100, 1000]) {
      const v = Float32Array.from({ length: n }, () => Math.round(r() * 20) / 20); // many ties
      const ref = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[b] - v[a] || a - b);
      for (const k of [0, 1, 3, 10, n, n + 5]) {
        expect(topK(v, k).map(([i]) => i)).toEqual(ref.slice(0, Math.min(k, n)));
      }
    }
  });
});

describe('float16', () => {
  it('every half round-trips through float32', () => {
    for (let h = 0; h < 65536; h++) {
      const f = fromHalf(h);
      if (Number.isNaN(f)) continue;
      expect(toHalf(f)).toBe(h);
    }
  });

  it('rounds as numpy astype(float16) (ties to even, subnormals, overflow)', () => {
    const r = rng(2);
    const xs = [0, -0, 1, 65504, 65520, 1e6, -1e6, 6e-8, 3e-8, 2.98e-8, 1e-5, 0.1, 1 / 3, 1 + 2 ** -11, 1 + 3 * 2 ** -11, ...Array.from({ length: 2000 }, () => (r() - 0.5) * 2 ** Math.floor(r() * 40 - 25))];
    const f32 = Float32Array.from(xs);
    const py = spawnSync('/usr/bin/python3', ['-c', 'import sys,numpy as np; a=np.frombuffer(sys.stdin.buffer.read(),dtype="<f4"); sys.stdout.buffer.write(a.astype(np.float16).tobytes())'], { input: Buffer.from(f32.buffer) });
    if (py.status !== 0) {
      console.warn('\n!!! /usr/bin/python3 with numpy missing: float16 cross-check against numpy SKIPPED (apt-get install python3-numpy) !!!\n');
      return;
    }
    const ref = new Uint16Array(py.stdout.buffer.slice(py.stdout.byteOffset, py.stdout.byteOffset + py.stdout.byteLength));
    expect(Array.from(float32ToHalf(f32))).toEqual(Array.from(ref));
    expect(Array.from(halfToFloat32(ref))).toEqual(Array.from(ref, fromHalf));
  });
});

describe('gallery file', () => {
  const rows = 50;
  const dim = 7;
  const r = rng(3);
  const feat = Float32Array.from({ length: rows * dim }, () => r() * 2 - 1);
  const ids = Array.from({ length: rows }, (_, i) => `id${i}`);
  const labels = Array.from({ length: rows }, (_, i) => String(i % 3));
  const thumbs = Uint8Array.from({ length: rows * 4 * 5 }, (_, i) => i % 256);

  it('float32 round-trips exactly and searches like brute force', () => {
    const bytes = encodeGallery(feat, { rows, dim, ids, labels, thumbnails: { data: thumbs, width: 5, height: 4, channels: 1 } });
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
    expect(() => parseGallery(new TextEncoder().encode('hello world, not a gallery'), 'x.bin')).toThrow(/^x\.bin: not a semembed gallery file/);
    expect(() => parseGallery(ok.subarray(0, ok.length - 8), 'cut.bin')).toThrow(/^cut\.bin: features block .* lies outside the file/);
    const bad = ok.slice();
    bad[13] = 0x7b; // break the JSON
    expect(() => parseGallery(bad, 'b.bin')).toThrow(GalleryError);
    expect(() => encodeGallery(feat, { rows, dim: 8 })).toThrow(/features have 350 values, expected 50 x 8/);
    expect(() => encodeGallery(feat, { rows, dim, ids: ['a'] })).toThrow(/ids has 1 entries, the features 50 rows/);
    expect(() => parseGallery(ok).search(new Float32Array(3))).toThrow(/query has 3 dimensions, the gallery 7/);
  });
});

describe('preprocessing equals runtime-node (independent implementation)', () => {
  const sidecars = ['fashion-tiny.json', 'rgb-nchw.json'].map((f) => JSON.parse(readFileSync(fixture(f), 'utf8')) as Sidecar);
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
      [{ ...good, format: 'x' }, /^s\.json: format is "x"/],
      [{ ...good, input: { ...good.input, layout: 'HWC' } }, /input\.layout must be NHWC or NCHW/],
      [{ ...good, preprocessing: { ...good.preprocessing, std: [0] } }, /preprocessing\.std contains 0/],
      [{ ...good, preprocessing: { ...good.preprocessing, resize: [32, 32] } }, /preprocessing\.resize \[32,32\] differs from the input size \[28, 28\]/],
      [{ ...good, outputs: [] }, /field "outputs" is missing or empty/],
      [{ ...good, classEmbedding: [[1, 2]] }, /classEmbedding rows have 2 values/],
      ['[]', /not a JSON object/],
    ];
    for (const [raw, re] of cases) {
      expect(() => validateSidecar(raw, 's.json')).toThrow(ModelLoadError);
      expect(() => validateSidecar(raw, 's.json')).toThrow(re);
      expect(() => nodeValidate(raw, 's.json')).toThrow();
    }
  });
});

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mulberry32 as rng } from '@semembed/formats';
import {
  float32ToHalf,
  fromHalf,
  halfToFloat32,
  l2normalize,
  l2normalizeRows,
  L2_EPS,
  softmaxInPlace,
  toHalf,
  topK,
} from '../src/index.js';

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
    const edges = [
      0,
      -0,
      1,
      65504,
      65520,
      1e6,
      -1e6,
      6e-8,
      3e-8,
      2.98e-8,
      1e-5,
      0.1,
      1 / 3,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
    ];
    const xs = [...edges, ...Array.from({ length: 2000 }, () => (r() - 0.5) * 2 ** Math.floor(r() * 40 - 25))];
    const f32 = Float32Array.from(xs);
    const code =
      'import sys,numpy as np; a=np.frombuffer(sys.stdin.buffer.read(),dtype="<f4"); sys.stdout.buffer.write(a.astype(np.float16).tobytes())';
    const py = spawnSync('/usr/bin/python3', ['-c', code], { input: Buffer.from(f32.buffer) });
    // numpy is the independent reference (python3-numpy, installed by scripts/install-system-deps.sh): no skip.
    expect(py.status, `python3 with numpy is needed (apt-get install python3-numpy): ${py.stderr}`).toBe(0);
    const ref = new Uint16Array(
      py.stdout.buffer.slice(py.stdout.byteOffset, py.stdout.byteOffset + py.stdout.byteLength),
    );
    expect(Array.from(float32ToHalf(f32))).toEqual(Array.from(ref));
    expect(Array.from(halfToFloat32(ref))).toEqual(Array.from(ref, fromHalf));
  });
});

describe('L2 normalisation: one rule, v / max(|v|, eps)', () => {
  it('scales to unit length and keeps a zero vector at zero (no NaN)', () => {
    const v = l2normalize(Float32Array.of(3, 4));
    expect(Array.from(v)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(Array.from(l2normalize(new Float32Array(3)))).toEqual([0, 0, 0]);
    const tiny = l2normalize(Float64Array.of(3e-7, 4e-7));
    expect(tiny[0]).toBeCloseTo(0.3, 12); // 5e-7 < eps: divided by eps, stays short
  });

  it('rows: the same numbers as per-vector normalisation, and counts the rows below eps', () => {
    const r = rng(5);
    const x = Float64Array.from({ length: 6 * 4 }, () => r() - 0.5);
    x.fill(0, 8, 12);
    const y = Float64Array.from(x);
    expect(l2normalizeRows(y, 4)).toBe(1);
    for (let i = 0; i < 6; i++)
      expect(Array.from(y.subarray(i * 4, i * 4 + 4))).toEqual(Array.from(l2normalize(x.slice(i * 4, i * 4 + 4))));
    expect(Math.sqrt(1e-12)).toBe(L2_EPS); // the runtimes' former sqrt(max(s, 1e-12)) is the same rule
  });

  it('softmax sums to 1 and survives large logits', () => {
    const p = softmaxInPlace(Float32Array.of(1000, 1001, 999));
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p[1]).toBeGreaterThan(p[0]);
  });

  it('topK never takes NaN', () => {
    expect(topK([NaN, 1, NaN, 2], 3)).toEqual([
      [3, 2],
      [1, 1],
    ]);
  });
});

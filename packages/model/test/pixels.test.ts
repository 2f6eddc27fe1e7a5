import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { mulberry32 } from '@semembed/formats';
import { normalizePixels, validateImageSidecar, type ImageSidecar } from '../src/index.js';

// The shared test models' sidecars (@semembed/test-fixtures) are version 1: make_models.py writes no version field.
const fixture = (name: string) => JSON.parse(readFileSync(fixturePath(`models/${name}`), 'utf8'));

/** numpy's answer: (x - mean) / std in float64, channels reversed for bgr, moved to the layout, as float32. */
function numpyTensor(pixels: Uint8Array, sc: ImageSidecar): Float32Array {
  const [H, W] = sc.preprocessing.resize;
  const C = sc.input.channels;
  const code = [
    'import sys, json, numpy as np',
    'a = json.loads(sys.argv[1])',
    `x = np.frombuffer(sys.stdin.buffer.read(), dtype=np.uint8).reshape(${H}, ${W}, ${C}).astype(np.float64)`,
    `y = (x - np.array(a['mean'])) / np.array(a['std'])`,
    "y = y[..., ::-1] if a['colorSpace'] == 'bgr' else y",
    "y = y.transpose(2, 0, 1) if a['layout'] == 'NCHW' else y",
    'sys.stdout.buffer.write(np.ascontiguousarray(y).astype(np.float32).tobytes())',
  ].join('\n');
  const args = JSON.stringify({ ...sc.preprocessing, layout: sc.input.layout });
  const r = spawnSync('/usr/bin/python3', ['-c', code, args], { input: Buffer.from(pixels) });
  // numpy is the independent reference (python3-numpy, installed by scripts/install-system-deps.sh): no skip.
  expect(r.status, `python3 with numpy is needed (apt-get install python3-numpy): ${r.stderr}`).toBe(0);
  return new Float32Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.byteLength));
}

describe('normalizePixels equals numpy', () => {
  const gray = validateImageSidecar(fixture('fashion-tiny.json'));
  const nchw = validateImageSidecar(fixture('rgb-nchw.json'));
  const nhwc = validateImageSidecar({ ...nchw, input: { ...nchw.input, layout: 'NHWC', shape: [null, 32, 32, 3] } });
  const bgr = (s: ImageSidecar) =>
    validateImageSidecar({ ...s, preprocessing: { ...s.preprocessing, colorSpace: 'bgr' } });
  const cases: [string, ImageSidecar][] = [
    ['gray NHWC', gray],
    ['rgb NCHW', nchw],
    ['rgb NHWC', nhwc],
    ['bgr NCHW', bgr(nchw)],
    ['bgr NHWC', bgr(nhwc)],
  ];
  for (const [what, sc] of cases) {
    it(what, () => {
      const [H, W] = sc.preprocessing.resize;
      const C = sc.input.channels;
      const r = mulberry32(7);
      const px = Uint8Array.from({ length: H * W * C }, () => Math.floor(r() * 256));
      const out = new Float32Array(H * W * C + 3);
      normalizePixels(px, sc, out, 3);
      expect(Array.from(out.subarray(3))).toEqual(Array.from(numpyTensor(px, sc)));
    });
  }

  it('reads RGBA (stride 4) as RGB and refuses a wrong pixel count', () => {
    const [H, W] = nhwc.preprocessing.resize;
    const rgb = Uint8Array.from({ length: H * W * 3 }, (_, i) => (i * 7) % 256);
    const rgba = new Uint8Array(H * W * 4);
    for (let i = 0; i < H * W; i++) rgba.set([...rgb.subarray(3 * i, 3 * i + 3), 255], 4 * i);
    const a = new Float32Array(H * W * 3);
    const b = new Float32Array(H * W * 3);
    normalizePixels(rgb, nhwc, a, 0);
    normalizePixels(rgba, nhwc, b, 0, 4);
    expect(b).toEqual(a);
    expect(() => normalizePixels(rgb.subarray(1), nhwc, a, 0)).toThrow(/pixels have 3071 values, expected 32x32x3/);
  });
});

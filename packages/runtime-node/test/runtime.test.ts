import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import {
  loadModel,
  parseEpList,
  pixelsToTensor,
  preprocessImage,
  readSidecar,
  validateSidecar,
  ModelLoadError,
  ImageError,
  type Model,
} from '../src/index.js';
import { TensorError } from '@semembed/model';
import { fixture, maxAbsDiff, readJson } from './helpers.js';

const fashionRef = readJson('fashion-tiny.reference.json');
const rgbRef = readJson('rgb-nchw.reference.json');

let fashion: Model;
let rgb: Model;

beforeAll(async () => {
  fashion = await loadModel(fixture('fashion-tiny.onnx'), { ep: 'cpu', threads: 1 });
  rgb = await loadModel(fixture('rgb-nchw.json'), { ep: 'cpu' });
});
afterAll(async () => {
  await fashion?.release();
  await rgb?.release();
});

describe('execution providers', () => {
  it('parses --ep lists and rejects unknown names', () => {
    expect(parseEpList(undefined)).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(parseEpList('auto')).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(parseEpList('webgpu,cpu')).toEqual(['webgpu', 'cpu']);
    expect(() => parseEpList('tpu')).toThrow(/unknown execution provider "tpu"/);
  });

  it('falls back from cuda to cpu and says why cuda failed', async () => {
    const m = await loadModel(fixture('fashion-tiny.onnx'), { ep: 'cuda,cpu' });
    try {
      expect(m.executionProvider).toBe('cpu');
      const cuda = m.providers.attempts.find((a) => a.ep === 'cuda');
      expect(cuda?.ok).toBe(false);
      // No GPU and no provider libraries on this machine (onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=skip).
      expect(cuda?.reason).toMatch(/libonnxruntime_providers_(shared|cuda)\.so/);
    } finally {
      await m.release();
    }
  });

  it('names a --cuda_path that does not hold the provider libraries', async () => {
    const m = await loadModel(fixture('fashion-tiny.onnx'), { ep: ['cuda', 'cpu'], cudaProviderDir: fixture('') });
    try {
      expect(m.providers.attempts[0].reason).toMatch(/libonnxruntime_providers_shared\.so not found in --cuda_path/);
    } finally {
      await m.release();
    }
  });

  it('fails with every reason when no provider works', async () => {
    await expect(loadModel(fixture('fashion-tiny.onnx'), { ep: 'cuda' })).rejects.toThrow(ModelLoadError);
    await expect(loadModel(fixture('fashion-tiny.onnx'), { ep: 'cuda' })).rejects.toThrow(
      /no execution provider could run .*cuda: /,
    );
  });

  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  // The Vulkan loader reads VK_ICD_FILENAMES once per process, so WebGPU runs in a child process.
  const onSwiftShader = (ep: string) => {
    expect(existsSync(swiftshader), `${swiftshader} (apt-get install chromium libvulkan1)`).toBe(true);
    const script = `
      import { loadModel, describeReport } from '${new URL('../dist/index.js', import.meta.url).pathname}';
      const ref = JSON.parse(process.env.REF);
      const m = await loadModel(process.env.MODEL, { ep: process.env.EP });
      const out = await m.run(Float32Array.from(ref.input), ref.shape[0]);
      console.log(JSON.stringify({ ep: m.executionProvider, providers: m.providers, line: describeReport(m.providers),
        l2norm: Array.from(out.l2norm.data), prob: Array.from(out.prob.data) }));
      await m.release();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        ...process.env,
        EP: ep,
        VK_ICD_FILENAMES: swiftshader,
        MODEL: fixture('fashion-tiny.onnx'),
        REF: JSON.stringify(fashionRef.random),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  };

  it('runs on WebGPU (Dawn over SwiftShader Vulkan), says which adapter, and matches the numpy reference', () => {
    const got = onSwiftShader('webgpu');
    expect(got.ep).toBe('webgpu');
    expect(got.providers.adapter.software).toBe(true);
    expect(got.line).toMatch(/^execution provider: webgpu on .*swiftshader.*\(CPU emulation\)/i);
    expect(maxAbsDiff(got.l2norm, fashionRef.random.l2norm.flat())).toBeLessThan(1e-4);
    expect(maxAbsDiff(got.prob, fashionRef.random.prob.flat())).toBeLessThan(1e-4);
  });

  it('auto does not report an emulated adapter as webgpu: it uses the CPU and says why', () => {
    const got = onSwiftShader('auto');
    expect(got.ep).toBe('cpu');
    const webgpu = got.providers.attempts.find((a: { ep: string }) => a.ep === 'webgpu');
    expect(webgpu.ok).toBe(false);
    expect(webgpu.reason).toMatch(/SwiftShader.*\(CPU emulation\), not a GPU .*--ep webgpu/i);
    expect(maxAbsDiff(got.l2norm, fashionRef.random.l2norm.flat())).toBeLessThan(2e-5);
  });
});

describe('inference', () => {
  it('matches the numpy reference on a random NHWC batch', async () => {
    const { input, shape, l2norm, prob } = fashionRef.random;
    const out = await fashion.run(Float32Array.from(input), shape[0]);
    expect(out.l2norm.shape).toEqual([3, 12]);
    expect(out.prob.shape).toEqual([3, 10]);
    expect(maxAbsDiff(out.l2norm.data, l2norm.flat())).toBeLessThan(2e-5);
    expect(maxAbsDiff(out.prob.data, prob.flat())).toBeLessThan(2e-5);
  });

  it('runs the same in a worker thread (as the server does), and a released worker refuses work', async () => {
    const { input, shape, l2norm, prob } = fashionRef.random;
    const w = await loadModel(fixture('fashion-tiny.onnx'), { ep: 'cpu', worker: true });
    expect(w.providers.chosen).toBe('cpu');
    const out = await w.run(Float32Array.from(input), shape[0]);
    expect(maxAbsDiff(out.l2norm.data, l2norm.flat())).toBeLessThan(2e-5);
    expect(maxAbsDiff(out.prob.data, prob.flat())).toBeLessThan(2e-5);
    const [r] = await w.embedImages([readFileSync(fixture('gray28.png'))]);
    expect(maxAbsDiff(r.embedding, fashionRef['gray28.png'].l2norm)).toBeLessThan(2e-5);
    await w.release();
    await expect(w.run(Float32Array.from(input), shape[0])).rejects.toThrow(/released/);
    await expect(loadModel(fixture('fashion-tiny.onnx'), { ep: 'cuda', worker: true })).rejects.toThrow(
      /no execution provider could run/,
    );
  });

  it('gives the same result per sample in a batch as alone', async () => {
    const { input } = fashionRef.random;
    const all = await fashion.run(Float32Array.from(input), 3);
    const second = await fashion.run(Float32Array.from(input.slice(784, 1568)), 1);
    expect(maxAbsDiff(second.l2norm.data, all.l2norm.data.slice(12, 24))).toBeLessThan(1e-6);
  });

  it('rejects a tensor of the wrong length with the expected shape', async () => {
    await expect(fashion.run(new Float32Array(100), 1)).rejects.toThrow(TensorError); // the shared output head checks the batch
    await expect(fashion.run(new Float32Array(100), 1)).rejects.toThrow(/expected 1 x 28x28x1 = 784/);
  });

  it('PNG -> gray NHWC -> embedding, probabilities and nearest classes match the reference', async () => {
    const [r] = await fashion.embedImages([readFileSync(fixture('gray28.png'))]);
    const ref = fashionRef['gray28.png'];
    expect(maxAbsDiff(r.embedding, ref.l2norm)).toBeLessThan(2e-5);
    expect(maxAbsDiff(r.probabilities!, ref.prob)).toBeLessThan(2e-5);
    const nearest = fashion.nearestClasses(r.embedding, 10);
    expect(nearest.map((c) => c.index)).toEqual(ref.nearestByEmbedding);
    expect(nearest[0].path?.at(-1)).toBe(nearest[0].name);
    const top = fashion.topClasses(r.probabilities!, 3);
    const order = ref.prob
      .map((p: number, i: number) => [p, i])
      .sort((a: number[], b: number[]) => b[0] - a[0])
      .slice(0, 3)
      .map((x: number[]) => x[1]);
    expect(top.map((c) => c.index)).toEqual(order);
    expect(top[0].path).toEqual(readSidecar(fixture('fashion-tiny.json')).classes![order[0]].path);
  });

  it('PNG -> RGB NCHW with per-channel mean/std matches the reference', async () => {
    const [r] = await rgb.embedImages([readFileSync(fixture('rgb32.png'))]);
    expect(r.probabilities).toBeUndefined();
    expect(maxAbsDiff(r.embedding, rgbRef['rgb32.png'].l2norm)).toBeLessThan(2e-5);
    expect(rgb.nearestClasses(r.embedding, 4).map((c) => c.index)).toEqual(rgbRef['rgb32.png'].nearestByEmbedding);
    expect(rgb.nearestClasses(r.embedding, 1)[0].id).toBe(100 + rgbRef['rgb32.png'].nearestByEmbedding[0]);
  });

  it('JPEG and WebP encodings of the same image give nearly the same embedding as the PNG', async () => {
    const png = readFileSync(fixture('rgb32.png'));
    const webp = await sharp(png).webp({ lossless: true }).toBuffer();
    const jpeg = await sharp(png).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
    const [a, b, c] = await rgb.embedImages([png, webp, jpeg]);
    expect(maxAbsDiff(a.embedding, b.embedding)).toBeLessThan(1e-6);
    expect(maxAbsDiff(a.embedding, c.embedding)).toBeLessThan(0.02);
  });
});

describe('preprocessing', () => {
  const sc = readSidecar(fixture('rgb-nchw.json'));
  const toPixels = (x: Float32Array, c: number, i: number) =>
    x[c * 1024 + i] * sc.preprocessing.std[c] + sc.preprocessing.mean[c];
  const round = (v: number) => Math.round(v) + 0; // no -0

  it('scales to cover and crops the centre (wide image: the side bands are cut off)', async () => {
    // 96x32: red | blue | green thirds; covering 32x32 keeps only the blue middle third.
    const raw = Buffer.alloc(96 * 32 * 3);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 96; x++) raw.set(x < 32 ? [255, 0, 0] : x < 64 ? [0, 0, 255] : [0, 255, 0], (y * 96 + x) * 3);
    const png = await sharp(raw, { raw: { width: 96, height: 32, channels: 3 } })
      .png()
      .toBuffer();
    const out = new Float32Array(3 * 1024);
    await preprocessImage(png, sc, out, 0);
    for (let y = 0; y < 32; y++) {
      for (let x = 2; x < 30; x++) {
        const i = y * 32 + x;
        expect([toPixels(out, 0, i), toPixels(out, 1, i), toPixels(out, 2, i)].map(round)).toEqual([0, 0, 255]);
      }
    }
  });

  it('downscales a tall image and keeps its vertical centre', async () => {
    // 64x128 (w x h): top 32 rows white, the rest black; cover -> 32x64, the centre crop keeps scaled rows
    // 16..47 = source rows 32..95, all black: the white band is cut off.
    const raw = Buffer.alloc(64 * 128 * 3);
    for (let y = 0; y < 32; y++) raw.fill(255, y * 64 * 3, (y + 1) * 64 * 3);
    const png = await sharp(raw, { raw: { width: 64, height: 128, channels: 3 } })
      .png()
      .toBuffer();
    const out = new Float32Array(3 * 1024);
    await preprocessImage(png, sc, out, 0);
    expect(round(toPixels(out, 0, 5 * 32 + 10))).toBe(0);
    // Lanczos reaches a few source rows across the cut: only the first crop rows may see the white band.
    expect(Math.max(...Array.from({ length: 28 * 32 }, (_, i) => toPixels(out, 1, 4 * 32 + i)))).toBeLessThan(1);
    expect(Math.max(...Array.from({ length: 32 }, (_, i) => toPixels(out, 1, i)))).toBeLessThan(64);
  });

  it('writes NHWC and NCHW layouts with per-channel mean/std', () => {
    const pixels = Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => i % 251);
    const nchw = new Float32Array(3 * 1024 + 5);
    pixelsToTensor(pixels, sc, nchw, 5);
    const nhwc = new Float32Array(3 * 1024);
    pixelsToTensor(pixels, { ...sc, input: { ...sc.input, layout: 'NHWC', shape: [null, 32, 32, 3] } }, nhwc, 0);
    for (const [i, c] of [
      [0, 0],
      [77, 1],
      [1023, 2],
    ]) {
      const want = (pixels[i * 3 + c] - sc.preprocessing.mean[c]) / sc.preprocessing.std[c];
      expect(nchw[5 + c * 1024 + i]).toBeCloseTo(want, 5);
      expect(nhwc[i * 3 + c]).toBeCloseTo(want, 5);
    }
  });

  it('converts colour images to gray for gray models', async () => {
    const gray = await sharp(readFileSync(fixture('gray28.png')))
      .toColourspace('srgb')
      .png()
      .toBuffer();
    const [a] = await fashion.embedImages([readFileSync(fixture('gray28.png'))]);
    const [b] = await fashion.embedImages([gray]);
    expect(maxAbsDiff(a.embedding, b.embedding)).toBeLessThan(1e-3);
  });

  it('refuses corrupt, empty, unsupported and oversized images with a reason', async () => {
    const png = readFileSync(fixture('rgb32.png'));
    const out = new Float32Array(3 * 1024);
    await expect(preprocessImage(png.subarray(0, 200), sc, out, 0, { source: 'cut.png' })).rejects.toThrow(
      /^cut\.png: corrupt png image/,
    );
    await expect(preprocessImage(new Uint8Array(0), sc, out, 0)).rejects.toThrow(/empty image/);
    await expect(preprocessImage(Buffer.from('hello world, not an image'), sc, out, 0)).rejects.toThrow(
      /not a JPEG, PNG or WebP image \(starts with 68656c6c\)/,
    );
    const gif = await sharp(png).gif().toBuffer();
    await expect(preprocessImage(gif, sc, out, 0)).rejects.toThrow(
      /not a JPEG, PNG or WebP image \(starts with 47494638\)/,
    );
    const err = await preprocessImage(png, sc, out, 0, { maxImagePixels: 1000 }).catch((e) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err.statusCode).toBe(413);
    expect(err.message).toMatch(/32x32 pixels, more than the limit of 1000/);
  });
});

describe('sidecar', () => {
  const good = readJson('fashion-tiny.json');
  it('accepts the fixture and names the bad field otherwise', () => {
    expect(validateSidecar(good).input.layout).toBe('NHWC');
    expect(() => validateSidecar({ ...good, format: 'x' }, 'm.json')).toThrow(
      /^m\.json: format: must be "semembed-onnx-sidecar\/1" \(got "x"\)$/,
    );
    expect(() => validateSidecar({ ...good, input: { ...good.input, layout: 'HWC' } })).toThrow(
      /input\.layout: must be one of "NHWC", "NCHW"/,
    );
    expect(() => validateSidecar({ ...good, preprocessing: { ...good.preprocessing, resize: [32, 32] } })).toThrow(
      /preprocessing\.resize: \[32,32\] differs from the input size \[28, 28\]/,
    );
    expect(() => validateSidecar({ ...good, preprocessing: { ...good.preprocessing, mean: [1, 2] } })).toThrow(
      /preprocessing\.mean: must have 1 entry/,
    );
    expect(() => validateSidecar({ ...good, classEmbedding: [[1, 2]] })).toThrow(/classEmbedding: rows have 2 values/);
  });

  it('reports a missing model or sidecar clearly', async () => {
    await expect(loadModel('/nonexistent/model.onnx')).rejects.toThrow(/model not found: \/nonexistent\/model\.onnx/);
    await expect(loadModel(fixture('make_models.py'))).rejects.toThrow(/no model\.json in folder|no sidecar/);
  });
});

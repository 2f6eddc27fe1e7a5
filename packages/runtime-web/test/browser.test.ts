import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { writeNpy } from '@semembed/formats';
import { loadModel as loadNodeModel, type Model as NodeModel, type SemembedServer } from '@semembed/runtime-node';
import {
  ARTIFACTS,
  FASHION_T10K,
  builtPage,
  fixture,
  launchChromium,
  maxAbsDiff,
  png,
  serveSite,
  tmp,
} from './helpers.js';
import { makeSite, readIdxImages } from '../src/site.js';
import { encodeGallery } from '../src/gallery.js';

// The real thing end to end: the built page served by semembed's own server (runtime-node, --web_root),
// Debian Chromium through playwright-core, results compared with onnxruntime-node on the same images and
// with the server's /v1/search, and with the numpy reference of the fixture model.

const N = 96; // gallery rows
const TOL = 1e-4;

interface Last {
  source: string;
  embedding: number[];
  probabilities?: number[];
  classes: { index: number; name?: string; path?: string[]; score: number }[];
  nearest: { index: number; score: number }[];
  matches: { rank: number; index: number; label?: string; id?: string; similarity: number }[];
  ep: string;
  ms: { preprocess: number; inference: number; search: number };
  excluded?: number;
}

let site: string;
let server: SemembedServer;
let base: string;
let ctx: BrowserContext;
let nodeModel: NodeModel;
const images: Buffer[] = [];
const imageFiles: string[] = [];
let galleryEmb: Float32Array[] = [];
let galleryRaw: Uint8Array;
let galleryFeatures: string;
const readIdx28 = (i: number): Uint8Array => galleryRaw.subarray(i * 784, (i + 1) * 784);

function galleryPixels(): { data: Uint8Array; w: number; h: number; real: boolean } {
  if (existsSync(FASHION_T10K)) {
    const t = readIdxImages(FASHION_T10K);
    return { data: t.data.slice(0, N * 784), w: 28, h: 28, real: true };
  }
  // Without the Debian dataset: deterministic synthetic patterns (stripes, blobs) of the same size.
  const data = new Uint8Array(N * 784);
  for (let i = 0; i < N; i++)
    for (let p = 0; p < 784; p++)
      data[i * 784 + p] = Math.round(
        127.5 + 127.5 * Math.sin((p % 28) * (0.1 + (i % 7) * 0.07) + Math.floor(p / 28) * (i % 5) * 0.09),
      );
  return { data, w: 28, h: 28, real: false };
}

beforeAll(async () => {
  const web = builtPage();
  const dir = tmp();
  const px = galleryPixels();
  galleryRaw = px.data;
  if (!px.real)
    console.warn('\n!!! dataset-fashion-mnist not installed: the browser tests use synthetic gallery images !!!\n');
  mkdirSync(join(dir, 'imgs'));
  for (let i = 0; i < N; i++) {
    const b = png(px.data.subarray(i * 784, (i + 1) * 784), 28, 28, 1);
    images.push(b);
    const f = join(dir, 'imgs', `img${i}.png`);
    writeFileSync(f, b);
    imageFiles.push(f);
  }
  // The gallery's features come from onnxruntime-node (the server's runtime), as `semembed embed` makes them.
  nodeModel = await loadNodeModel(fixture('fashion-tiny.json'), { ep: 'cpu', warmup: false });
  const res = await nodeModel.embedImages(images);
  galleryEmb = res.map((r) => r.embedding);
  const dim = galleryEmb[0].length;
  const feat = new Float32Array(N * dim);
  galleryEmb.forEach((e, i) => feat.set(e, i * dim));
  const features = (galleryFeatures = join(dir, 'gallery.npy'));
  writeNpy(features, { dtype: 'float32', shape: [N, dim], data: feat });
  writeFileSync(
    join(dir, 'gallery.labels.txt'),
    Array.from({ length: N }, (_, i) => `label${i % 10}`).join('\n') + '\n',
  );
  writeFileSync(join(dir, 'gallery.ids.txt'), Array.from({ length: N }, (_, i) => `img${i}`).join('\n') + '\n');
  const idx = Buffer.alloc(16 + N * 784);
  idx.set([0, 0, 8, 3]);
  idx.writeUInt32BE(N, 4);
  idx.writeUInt32BE(28, 8);
  idx.writeUInt32BE(28, 12);
  idx.set(px.data.subarray(0, N * 784), 16);
  writeFileSync(join(dir, 'thumbs.idx'), idx);
  site = join(dir, 'site');
  makeSite({
    model: fixture('fashion-tiny.json'),
    gallery: features,
    out: site,
    thumbsIdx: join(dir, 'thumbs.idx'),
    web,
  });
  // A second gallery whose thumbnails are image URLs (the page then queries with an <img> element).
  mkdirSync(join(site, 'imgs'));
  for (let i = 0; i < N; i++) writeFileSync(join(site, 'imgs', `img${i}.png`), images[i]);
  writeFileSync(
    join(site, 'models', 'default', 'gallery-urls.bin'),
    encodeGallery(feat, { rows: N, dim, images: Array.from({ length: N }, (_, i) => `../../imgs/img${i}.png`) }),
  );
  // A second model for the RGB / NCHW path, by URL.
  mkdirSync(join(site, 'models', 'rgb'), { recursive: true });
  writeFileSync(join(site, 'models', 'rgb', 'rgb-nchw.onnx'), readFileSync(fixture('rgb-nchw.onnx')));
  writeFileSync(join(site, 'models', 'rgb', 'rgb-nchw.json'), readFileSync(fixture('rgb-nchw.json')));
  ({ server, base } = await serveSite(site, { gallery: features }));
  ctx = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await ctx?.close();
  await server?.close();
  await nodeModel?.release();
});

async function open(query: string): Promise<Page> {
  const page = await ctx.newPage();
  const logs: string[] = [];
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${base}/${query}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
    timeout: 150_000,
  });
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state === 'error') throw new Error(`page did not load: ${await page.textContent('#error')} ${logs.join(' ')}`);
  return page;
}

async function queryFile(
  page: Page,
  file: string | { name: string; mimeType: string; buffer: Buffer },
): Promise<string> {
  await page.evaluate(() => (document.body.dataset.state = 'ready'));
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, {
    timeout: 150_000,
  });
  return (await page.evaluate(() => document.body.dataset.state))!;
}

const last = (page: Page): Promise<Last> =>
  page.evaluate(() => (window as unknown as { semembed: { last: Last } }).semembed.last);

async function serverSearch(img: Buffer, k: number) {
  const r = await fetch(`${base}/v1/search?top_k=${k}`, {
    method: 'POST',
    body: new Uint8Array(img),
    headers: { 'content-type': 'image/png' },
  });
  expect(r.status).toBe(200);
  const body = (await r.json()) as {
    results: { matches: { index: number; id?: string; label?: string; similarity: number }[] }[];
  };
  return body.results[0].matches;
}

async function checkAgainstNode(page: Page, i: number): Promise<Last> {
  expect(await queryFile(page, imageFiles[i])).toBe('done');
  const got = await last(page);
  const [ref] = await nodeModel.embedImages([images[i]]);
  expect(got.embedding).toHaveLength(ref.embedding.length);
  expect(maxAbsDiff(got.embedding, ref.embedding)).toBeLessThanOrEqual(TOL);
  expect(maxAbsDiff(got.probabilities!, ref.probabilities!)).toBeLessThanOrEqual(TOL);
  // Top classes as the node runtime ranks them, with the sidecar's names and taxonomy paths.
  expect(got.classes.map((c) => c.index)).toEqual(nodeModel.topClasses(ref.probabilities!, 5).map((c) => c.index));
  expect(got.classes[0].path?.length).toBeGreaterThan(1);
  expect(got.nearest.map((c) => c.index)).toEqual(nodeModel.nearestClasses(ref.embedding, 5).map((c) => c.index));
  // Gallery search equals the server's /v1/search for the same image file.
  const srv = await serverSearch(images[i], 10);
  expect(got.matches.map((m) => m.index)).toEqual(srv.map((m) => m.index));
  expect(got.matches.map((m) => m.id)).toEqual(srv.map((m) => m.id));
  expect(
    maxAbsDiff(
      got.matches.map((m) => m.similarity),
      srv.map((m) => m.similarity),
    ),
  ).toBeLessThanOrEqual(TOL);
  // The query is a gallery image itself: it must come first, similarity ~1.
  expect(got.matches[0].index).toBe(i);
  expect(got.matches[0].similarity).toBeGreaterThan(1 - 1e-4);
  // The page shows what it computed.
  expect(await page.locator('#matches li').count()).toBe(10);
  expect(await page.locator('#class-table tr').count()).toBe(5);
  expect(await page.textContent('#timing')).toMatch(new RegExp(`^${got.ep}.*inference [0-9.]+ ms`));
  return got;
}

describe('semantic search page in Chromium (served by semembed serve)', () => {
  // Loading ORT's 28 MB wasm takes ~20 s on this loaded 2-core machine: one page per provider, reused.
  let wasmPage: Page;

  it('wasm: embeddings, classes and search equal onnxruntime-node and /v1/search', async () => {
    const page = (wasmPage = await open('?ep=wasm'));
    expect(await page.getAttribute('#status', 'data-ep')).toBe('wasm');
    // semembed serve sends COOP/COEP for --web_root by default: isolated, so wasm runs on every core (2 here).
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.textContent('#status')).toMatch(/wasm SIMD, \d+ threads? \(page is cross-origin isolated\)/);
    for (const i of [0, 7, 41]) await checkAgainstNode(page, i);
    // The fixture image against the numpy reference (independent of ONNX Runtime).
    expect(await queryFile(page, fixture('gray28.png'))).toBe('done');
    const ref = JSON.parse(readFileSync(fixture('fashion-tiny.reference.json'), 'utf8'))['gray28.png'];
    const got = await last(page);
    expect(maxAbsDiff(got.embedding, ref.l2norm)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(got.probabilities!, ref.prob)).toBeLessThanOrEqual(TOL);
    await checkAgainstNode(page, 3);
    await page.screenshot({ path: join(ARTIFACTS, 'page-wasm.png'), fullPage: true });
  });

  it('picking a gallery image queries with it; it is not returned as its own match', async () => {
    const page = wasmPage;
    await page.evaluate(() => (document.body.dataset.state = 'ready'));
    const pick = page.locator('#picks canvas').nth(2);
    const index = Number(await pick.getAttribute('data-index'));
    await pick.click();
    await page.waitForFunction(() => document.body.dataset.state === 'done');
    const got = await last(page);
    expect(got.source).toBe(`gallery #${index}`);
    expect(got.excluded).toBe(index);
    expect(maxAbsDiff(got.embedding, galleryEmb[index])).toBeLessThanOrEqual(TOL);
    // The server's ranking for the same image, minus the query itself (it would rank first with similarity 1).
    const srv = await serverSearch(images[index], 11);
    expect(srv[0].index).toBe(index);
    expect(got.matches.map((m) => m.index)).toEqual(srv.slice(1).map((m) => m.index));
    expect(got.matches.map((m) => m.rank)).toEqual(Array.from({ length: 10 }, (_, r) => r + 1));
    expect(await page.textContent('#query-name')).toMatch(/left out of the matches/);
  });

  it('images of another size: scaled + centre-cropped close to the server (canvas filter, not lanczos3)', async () => {
    const page = wasmPage;
    // img 5 upscaled 2x (nearest) and padded to 64x56: cover-scale and centre crop must land on the original.
    const src = Buffer.from(readIdx28(5));
    const big = new Uint8Array(56 * 64);
    for (let y = 0; y < 56; y++)
      for (let x = 0; x < 64; x++)
        big[y * 64 + x] = x < 4 || x >= 60 ? 0 : src[Math.floor(y / 2) * 28 + Math.floor((x - 4) / 2)];
    const file = png(big, 64, 56, 1);
    const browserX: number[] = await page.evaluate(async (bytes) => {
      const api = (window as unknown as { semembed: { model: { preprocess(i: Blob[]): Promise<Float32Array> } } })
        .semembed;
      return Array.from(await api.model.preprocess([new Blob([new Uint8Array(bytes)], { type: 'image/png' })]));
    }, Array.from(file));
    const nodeX = await nodeModel.preprocess([file]);
    const std = nodeModel.sidecar.preprocessing.std[0];
    const diffs = browserX.map((v, i) => Math.abs(v - nodeX[i]) * std); // in gray levels
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    console.log(
      `resize path: browser vs sharp, mean |diff| ${mean.toFixed(2)} gray levels, max ${Math.max(...diffs).toFixed(1)}`,
    );
    expect(browserX).toHaveLength(784);
    expect(mean).toBeLessThan(6); // measured 2.8 (lanczos3 rings at edges: max 32)
    // Against the original 28x28 pixels (what both should approximate).
    const orig = Array.from(src, (p) => (p - nodeModel.sidecar.preprocessing.mean[0]) / std);
    const meanOrig = browserX.reduce((a, v, i) => a + Math.abs(v - orig[i]) * std, 0) / 784;
    console.log(`resize path: browser vs original 28x28, mean |diff| ${meanOrig.toFixed(2)} gray levels`);
    expect(meanOrig).toBeLessThan(1); // measured 0.00: the canvas undoes an exact 2x upscale
  });

  it('a gallery with image URLs: thumbnails are <img>, picking one queries with the <img> element', async () => {
    const page = wasmPage;
    await page.fill('#gallery-url', 'models/default/gallery-urls.bin');
    await page.evaluate(() => (document.body.dataset.state = 'loading'));
    await page.click('#model-form button');
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
      timeout: 150_000,
    });
    expect(await page.textContent('#status')).toMatch(/gallery 96 × 12/);
    const pick = page.locator('#picks img').nth(3);
    const index = Number(await pick.getAttribute('data-index'));
    await pick.click();
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, {
      timeout: 60_000,
    });
    expect(await page.isVisible('#error')).toBe(false);
    const got = await last(page);
    expect(got.source).toBe(`gallery #${index}`);
    expect(maxAbsDiff(got.embedding, galleryEmb[index])).toBeLessThanOrEqual(TOL);
    expect(got.matches.map((m) => m.index)).not.toContain(index);
    expect(await page.locator('#matches li img').count()).toBe(10);
    await page.fill('#gallery-url', 'models/default/gallery.bin');
    await page.evaluate(() => (document.body.dataset.state = 'loading'));
    await page.click('#model-form button');
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 150_000 });
  });

  it('a bad image shows a readable error in the page, and the next good image works', async () => {
    const page = wasmPage;
    const state = await queryFile(page, {
      name: 'broken.png',
      mimeType: 'image/png',
      buffer: Buffer.from('this is not a PNG at all'),
    });
    expect(state).toBe('error');
    expect(await page.isVisible('#error')).toBe(true);
    const msg = (await page.textContent('#error'))!;
    expect(msg).toMatch(/^broken\.png: not an image this browser can decode \(image\/png, starts with 74686973/);
    expect(msg).not.toMatch(/\n| {4}at /); // no stack trace lines
    await page.screenshot({ path: join(ARTIFACTS, 'page-bad-image.png') });
    expect(await queryFile(page, imageFiles[1])).toBe('done');
    expect(await page.isVisible('#error')).toBe(false);
  });

  it('any converted model by URL (form): RGB NCHW model, no gallery, equals onnxruntime-node and numpy', async () => {
    const page = wasmPage;
    await page.fill('#model-url', 'models/rgb/rgb-nchw.json');
    await page.fill('#gallery-url', '');
    await page.evaluate(() => (document.body.dataset.state = 'loading'));
    await page.click('#model-form button');
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
      timeout: 150_000,
    });
    expect(await page.textContent('#status')).toMatch(/^rgb-nchw: wasm .* no gallery/);
    expect(await queryFile(page, fixture('rgb32.png'))).toBe('done');
    const got = await last(page);
    const m = await loadNodeModel(fixture('rgb-nchw.json'), { ep: 'cpu', warmup: false });
    try {
      const [ref] = await m.embedImages([readFileSync(fixture('rgb32.png'))]);
      expect(maxAbsDiff(got.embedding, ref.embedding)).toBeLessThanOrEqual(TOL);
      expect(got.nearest.map((c) => c.index)).toEqual(m.nearestClasses(ref.embedding, 4).map((c) => c.index));
      const numpy = JSON.parse(readFileSync(fixture('rgb-nchw.reference.json'), 'utf8'))['rgb32.png'];
      expect(maxAbsDiff(got.embedding, numpy.l2norm)).toBeLessThanOrEqual(TOL);
    } finally {
      await m.release();
    }
    expect(got.matches).toEqual([]);
    await page.close();
  });

  it('WebGPU (SwiftShader here): runs on webgpu and equals onnxruntime-node', async () => {
    const page = await open('?ep=webgpu');
    expect(await page.getAttribute('#status', 'data-ep')).toBe('webgpu');
    expect(await page.textContent('#status')).toMatch(/WebGPU adapter: /);
    for (const i of [0, 41]) await checkAgainstNode(page, i);
    await page.screenshot({ path: join(ARTIFACTS, 'page-webgpu.png'), fullPage: true });
    await page.close();
  });

  it('?coi=1 on a server without COOP/COEP: the service worker isolates the page, wasm gets 2 threads', async () => {
    // A server with the headers turned off; own browser profile (the service worker stays registered per origin).
    const { server: plain, base: plainBase } = await serveSite(site, {
      gallery: galleryFeatures,
      crossOriginIsolation: false,
    });
    const ctx2 = await launchChromium();
    try {
      const first = await ctx2.newPage();
      await first.goto(`${plainBase}/?ep=wasm&gallery=`);
      await first.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
        timeout: 150_000,
      });
      expect(await first.evaluate(() => crossOriginIsolated)).toBe(false); // without ?coi=1: not isolated, 1 thread
      expect(await first.textContent('#status')).toMatch(/wasm SIMD, 1 thread/);
      await first.close();
      const page = await ctx2.newPage();
      await page.goto(`${plainBase}/?ep=wasm&threads=2&coi=1`);
      await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
        timeout: 150_000,
      });
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      expect(await page.textContent('#status')).toMatch(/wasm SIMD, 2 threads \(page is cross-origin isolated\)/);
      expect(await queryFile(page, imageFiles[9])).toBe('done');
      const [ref] = await nodeModel.embedImages([images[9]]);
      expect(maxAbsDiff((await last(page)).embedding, ref.embedding)).toBeLessThanOrEqual(TOL);
    } finally {
      await ctx2.close();
      await plain.close();
    }
  });

  it('a missing model URL says which URL and the HTTP status', async () => {
    const page = await ctx.newPage();
    await page.goto(`${base}/?model=models/nope/model.json&gallery=`);
    await page.waitForFunction(() => document.body.dataset.state === 'error');
    expect(await page.textContent('#error')).toMatch(
      /^sidecar http:\/\/127\.0\.0\.1:\d+\/models\/nope\/model\.json: HTTP 404/,
    );
    await page.close();
  });
});

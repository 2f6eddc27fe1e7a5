import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { loadModel as loadNodeModel, type SemembedServer } from '@semembed/runtime-node';
import { datasetSamples, quantizeFile } from '@semembed/quantize';
import { builtPage, fixture, launchChromium, maxAbsDiff, serveSite, tmp } from './helpers.js';
import { makeSite } from '../src/site.js';

// Quantised variants in the browser: the page picks int8 on wasm and fp16 on WebGPU, the user can override, the
// status line says which runs and its latency; each variant's embeddings equal onnxruntime-node running the same
// file, and stay within the quantiser's bounds of the fp32 model.

let server: SemembedServer;
let base: string;
let ctx: BrowserContext;
let dir: string;
let site: string;
const node: Record<string, number[]> = {};

interface Last {
  embedding: number[];
  ep: string;
}
type Api = { semembed: { last: Last; variant: { name: string; latencyMs: number; why: string } } };

async function open(query: string, noWebGpu = false): Promise<Page> {
  const page = await ctx.newPage();
  if (noWebGpu)
    await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto(`${base}/${query}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
    timeout: 150_000,
  });
  return page;
}

async function embed(page: Page): Promise<Last> {
  expect(await page.evaluate(() => document.body.dataset.state)).toBe('ready');
  await page.setInputFiles('#file', []); // the same file twice would fire no change event
  await page.setInputFiles('#file', fixture('gray28.png'));
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, {
    timeout: 60_000,
  });
  expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');
  return page.evaluate(() => (window as unknown as Api).semembed.last);
}

beforeAll(async () => {
  const web = builtPage();
  dir = tmp('semembed-variants-');
  const calib = await datasetSamples('FashionMNIST', undefined, fixture('fashion-tiny.json'), 'train', 128);
  // int8 in the form the pipeline's site ships for wasm (`--target web`).
  for (const mode of ['int8', 'fp16'] as const) {
    const out = join(dir, `m.${mode}.onnx`);
    await quantizeFile(fixture('fashion-tiny.onnx'), out, { mode, target: 'web', calibration: [calib] });
  }
  site = join(dir, 'site');
  makeSite({
    model: fixture('fashion-tiny.json'),
    out: site,
    web,
    variants: { int8: join(dir, 'm.int8.json'), fp16: join(dir, 'm.fp16.json') },
  });
  for (const [name, sc] of [
    ['fp32', fixture('fashion-tiny.json')],
    ['int8', join(dir, 'm.int8.json')],
    ['fp16', join(dir, 'm.fp16.json')],
  ]) {
    const m = await loadNodeModel(sc, { ep: 'cpu', warmup: false });
    node[name] = Array.from((await m.embedImages([readFileSync(fixture('gray28.png'))]))[0].embedding);
    await m.release();
  }
  ({ server, base } = await serveSite(site));
  ctx = await launchChromium();
}, 180_000);

afterAll(async () => {
  await ctx?.close();
  await server?.close();
});

describe('model variants on the page', () => {
  it('no WebGPU adapter: int8 on wasm, equal to onnxruntime-node on the same file, near fp32', async () => {
    const page = await open('', true);
    expect(await page.getAttribute('#status', 'data-variant')).toBe('int8');
    expect(await page.getAttribute('#status', 'data-ep')).toBe('wasm');
    expect(await page.textContent('#status')).toMatch(/variant int8 \(no WebGPU adapter\) · [0-9.]+ ms per image/);
    const got = await embed(page);
    console.log(
      `int8 in Chromium wasm: vs onnxruntime-node int8 ${maxAbsDiff(got.embedding, node.int8).toExponential(2)}, vs fp32 ${maxAbsDiff(got.embedding, node.fp32).toExponential(2)}`,
    );
    expect(maxAbsDiff(got.embedding, node.int8)).toBeLessThanOrEqual(1e-3);
    expect(maxAbsDiff(got.embedding, node.fp32)).toBeLessThanOrEqual(0.06);
    await page.close();
  });

  it('WebGPU: fp16 when the adapter has shader-f16, else fp32; near onnxruntime-node', async () => {
    const page = await open('');
    const f16 = await page.evaluate(
      async () =>
        !!(
          await (
            navigator as unknown as { gpu: { requestAdapter(): Promise<{ features: Set<string> }> } }
          ).gpu.requestAdapter()
        ).features.has('shader-f16'),
    );
    const want = f16 ? 'fp16' : 'fp32';
    console.log(`WebGPU adapter here: shader-f16 ${f16} -> ${want}`);
    expect(await page.getAttribute('#status', 'data-variant')).toBe(want);
    expect(await page.getAttribute('#status', 'data-ep')).toBe('webgpu');
    expect(await page.textContent('#status')).toMatch(
      new RegExp(`variant ${want} \\(WebGPU adapter found${f16 ? '' : ', no shader-f16'}\\)`),
    );
    const got = await embed(page);
    console.log(
      `${want} on WebGPU: vs onnxruntime-node ${want} ${maxAbsDiff(got.embedding, node[want]).toExponential(2)}, vs fp32 ${maxAbsDiff(got.embedding, node.fp32).toExponential(2)}`,
    );
    expect(maxAbsDiff(got.embedding, node[want])).toBeLessThanOrEqual(2e-3);
    expect(maxAbsDiff(got.embedding, node.fp32)).toBeLessThanOrEqual(2e-3);
    await page.close();
  });

  it('the user overrides the choice (?variant=, the menu); an unknown variant is a clear error', async () => {
    const page = await open('?variant=fp32&ep=wasm');
    expect(await page.getAttribute('#status', 'data-variant')).toBe('fp32');
    expect(await page.textContent('#status')).toMatch(/variant fp32 \(chosen by the user\)/);
    expect(maxAbsDiff((await embed(page)).embedding, node.fp32)).toBeLessThanOrEqual(1e-4);
    await page.selectOption('#variant', 'int8');
    await page.evaluate(() => (document.body.dataset.state = 'loading'));
    await page.click('#model-form button');
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 150_000 });
    expect(await page.getAttribute('#status', 'data-variant')).toBe('int8');
    expect(maxAbsDiff((await embed(page)).embedding, node.int8)).toBeLessThanOrEqual(1e-3);
    await page.close();
    const bad = await open('?variant=int4');
    expect(await bad.textContent('#error')).toBe('variant "int4" is not on this site (it has: fp32, int8, fp16)');
    await bad.close();
  });
});

describe("the ONNX file is checked against its sidecar's source.onnx_sha256 (crypto.subtle)", () => {
  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  /** models/NAME/: the int8 sidecar recording `hash`, beside the ONNX file `onnx`. */
  function pair(name: string, onnx: string, hash: unknown): void {
    const d = join(site, 'models', name);
    mkdirSync(d, { recursive: true });
    copyFileSync(onnx, join(d, 'model.onnx'));
    const sc = JSON.parse(readFileSync(join(dir, 'm.int8.json'), 'utf8'));
    writeFileSync(join(d, 'model.json'), JSON.stringify({ ...sc, model: 'model.onnx', source: { onnx_sha256: hash } }));
  }
  beforeAll(() => {
    pair('hashed', join(dir, 'm.int8.onnx'), sha(join(dir, 'm.int8.onnx')));
    pair('mismatch', join(dir, 'm.fp16.onnx'), sha(join(dir, 'm.int8.onnx')));
    pair('badhash', join(dir, 'm.int8.onnx'), 'abc');
  });
  const openModel = (name: string) => open(`?model=models/${name}/model.json&gallery=&ep=wasm`);

  it('a matching pair loads and says the hash was checked', async () => {
    const page = await openModel('hashed');
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('ready');
    const integrity = await page.evaluate(
      () => (window as unknown as { semembed: { model: { integrity: unknown } } }).semembed.model.integrity,
    );
    expect(integrity).toEqual({ checked: true, sha256: sha(join(dir, 'm.int8.onnx')) });
    await page.close();
  });

  it('a mismatched pair is refused with both names and hashes; a malformed hash is named', async () => {
    const page = await openModel('mismatch');
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('error');
    const got = sha(join(dir, 'm.fp16.onnx')).slice(0, 12);
    const want = sha(join(dir, 'm.int8.onnx')).slice(0, 12);
    expect(await page.textContent('#error')).toBe(
      `${base}/models/mismatch/model.onnx does not match its sidecar model.json (sha256 ${got}…, the sidecar ` +
        `records ${want}…): the two files come from different conversions; convert (or quantize) the model again`,
    );
    await page.close();
    const bad = await openModel('badhash');
    expect(await bad.textContent('#error')).toBe(
      `${base}/models/badhash/model.json: source.onnx_sha256 must be 64 hex digits, got "abc"`,
    );
    await bad.close();
  });
});

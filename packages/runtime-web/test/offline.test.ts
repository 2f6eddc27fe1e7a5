import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { writeNpy } from '@semembed/formats';
import { loadModel as loadNodeModel, type SemembedServer } from '@semembed/runtime-node';
import { ARTIFACTS, builtPage, fixture, launchChromium, maxAbsDiff, serveSite, tmp } from './helpers.js';
import { makeSite, writeSiteManifest } from '../src/site.js';

// The page on an edge device: first visit downloads page + wasm + model + gallery into the Cache API (progress
// bar), then it works with the server stopped and the browser offline; a new site version is picked up and
// reloaded; a 100k-row gallery is searched in the worker while the main thread keeps running.

const ROWS = 100_000;
let dir: string;
let site: string;
let port: number;
let server: SemembedServer | undefined;
let ctx: BrowserContext;
let gallery: Float32Array;
let dim: number;

interface Offline {
  status: string;
  version?: string;
  bytes: number;
  progressEvents: number;
}
interface Last {
  embedding: number[];
  matches: { rank: number; index: number; similarity: number }[];
  ms: { search: number };
}
type Api = {
  semembed: { offline: Offline; last: Last; benchSearch(n: number): Promise<{ medianMs: number; rows: number }> };
};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function startServer(): Promise<string> {
  let base: string;
  ({ server, base } = await serveSite(site, { port }));
  return base;
}

async function stopServer(): Promise<void> {
  await server?.close();
  server = undefined;
}

async function waitLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
    timeout: 150_000,
  });
  if ((await page.evaluate(() => document.body.dataset.state)) === 'error')
    throw new Error(`page error: ${await page.textContent('#error')}`);
}

async function queryFile(page: Page, file: string): Promise<Last> {
  await page.evaluate(() => (document.body.dataset.state = 'ready'));
  await page.setInputFiles('#file', []); // the same file twice would fire no change event
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, {
    timeout: 60_000,
  });
  expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');
  return page.evaluate(() => (window as unknown as Api).semembed.last);
}

const offline = (page: Page): Promise<Offline> => page.evaluate(() => (window as unknown as Api).semembed.offline);

/** Exact top-k by float32 dot products, lower index first on ties (what the page's search promises). */
function topK(q: ArrayLike<number>, k: number): number[] {
  const s = new Float32Array(ROWS);
  for (let r = 0; r < ROWS; r++) {
    let a = 0;
    for (let j = 0; j < dim; j++) a += gallery[r * dim + j] * q[j];
    s[r] = a;
  }
  return Array.from(s.keys())
    .sort((a, b) => s[b] - s[a] || a - b)
    .slice(0, k);
}

beforeAll(async () => {
  const web = builtPage();
  dir = tmp('semembed-offline-');
  // A 100k-row gallery (random unit vectors, float32) for the model's 12-d embeddings, no thumbnails.
  const m = await loadNodeModel(fixture('fashion-tiny.json'), { ep: 'cpu', warmup: false });
  dim = m.sidecar.outputs.find((o) => o.kind === 'embedding')!.dim!;
  await m.release();
  gallery = new Float32Array(ROWS * dim);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let r = 0; r < ROWS; r++) {
    let n = 0;
    for (let j = 0; j < dim; j++) n += (gallery[r * dim + j] = rnd()) ** 2;
    for (let j = 0; j < dim; j++) gallery[r * dim + j] /= Math.sqrt(n);
  }
  writeNpy(join(dir, 'g.npy'), { dtype: 'float32', shape: [ROWS, dim], data: gallery });
  site = join(dir, 'site');
  makeSite({ model: fixture('fashion-tiny.json'), gallery: join(dir, 'g.npy'), out: site, web });
  port = await freePort();
  await startServer();
  ctx = await launchChromium();
}, 180_000);

afterAll(async () => {
  await ctx?.close();
  await stopServer();
});

describe('the page offline (service worker + Cache API)', () => {
  let page: Page;
  let online: Last;

  it('first visit: downloads page, wasm, model and gallery with a progress bar', async () => {
    page = await ctx.newPage();
    page.on('console', (m) => console.log(`page: ${m.text()}`));
    page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`));
    await page.goto(`http://127.0.0.1:${port}/?ep=wasm`);
    await waitLoaded(page);
    const o = await offline(page);
    const manifest = JSON.parse(readFileSync(join(site, 'site-manifest.json'), 'utf8')) as {
      version: string;
      files: { path: string; bytes: number; group: string }[];
    };
    expect(o.status).toBe('downloaded');
    expect(o.version).toBe(manifest.version);
    // Everything this visit needs: core (page, ort wasm, config), the gallery, the fp32 model.
    const want = manifest.files.filter((f) => ['core', 'gallery', 'variant:fp32'].includes(f.group));
    expect(want.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        'index.html',
        'sw.js',
        'config.json',
        'models/default/gallery.bin',
        'models/default/model.json',
      ]),
    );
    expect(want.some((f) => f.path.startsWith('ort/') && f.path.endsWith('.wasm'))).toBe(true);
    expect(o.bytes).toBe(want.reduce((a, f) => a + f.bytes, 0));
    expect(o.progressEvents).toBeGreaterThan(3); // the bar moved while the wasm and the gallery streamed in
    expect(await page.textContent('#offline-text')).toMatch(/^available offline \(version [0-9a-f]{12}\)/);
    const cached = await page.evaluate(
      async () =>
        await Promise.all((await caches.keys()).map(async (n) => (await (await caches.open(n)).keys()).length)),
    );
    expect(cached).toHaveLength(1);
    expect(cached[0]).toBeGreaterThanOrEqual(want.length);
    online = await queryFile(page, fixture('gray28.png'));
    expect(online.matches.map((x) => x.index)).toEqual(topK(online.embedding, 10));
  });

  it('server stopped and browser offline: the page reloads from the cache and answers the same', async () => {
    await stopServer();
    await ctx.setOffline(true);
    try {
      await page.reload();
      await waitLoaded(page);
      const o = await offline(page);
      expect(o.status).toBe('offline');
      expect(await page.textContent('#offline-text')).toMatch(/^offline: running the cached copy/);
      expect(await page.getAttribute('#status', 'data-ep')).toBe('wasm');
      const got = await queryFile(page, fixture('gray28.png'));
      expect(maxAbsDiff(got.embedding, online.embedding)).toBe(0);
      expect(got.matches).toEqual(online.matches);
      await page.screenshot({ path: join(ARTIFACTS, 'page-offline.png') });
    } finally {
      await ctx.setOffline(false);
    }
  });

  it('a new site version on the server: the page downloads it, drops the old cache and reloads into it', async () => {
    const cfgPath = join(site, 'config.json');
    writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), k: 5 }));
    const { version } = writeSiteManifest(site, {
      'models/default/gallery.bin': 'gallery',
      'models/default/model.json': 'variant:fp32',
      'models/default/fashion-tiny.onnx': 'variant:fp32',
    });
    await startServer();
    await page.reload();
    // First load sees the new manifest ('updated'), fills the new cache and reloads; the second runs it.
    await page.waitForFunction(
      (v) => (window as unknown as Api).semembed.offline?.version === v && document.body.dataset.state === 'ready',
      version,
      { timeout: 150_000 },
    );
    const o = await offline(page);
    expect(o.status).toBe('cached');
    const names = await page.evaluate(async () => caches.keys());
    expect(names).toEqual([`semembed-site-${version}`]);
    const got = await queryFile(page, fixture('gray28.png'));
    expect(got.matches).toHaveLength(5); // the new config.json is the one running
  });

  it('100k-row gallery: searched in the worker (the main thread keeps running), exact top-k', async () => {
    expect(await page.textContent('#status')).toMatch(/gallery 100000 × 12/);
    // Timer ticks on the main thread while the worker runs 20 searches: searches on the main thread would block them.
    const r = await page.evaluate(async () => {
      let ticks = 0;
      let stop = false;
      const tick = () => {
        ticks++;
        if (!stop) setTimeout(tick, 0);
      };
      tick();
      const t0 = performance.now();
      const b = await (window as unknown as Api).semembed.benchSearch(20);
      stop = true;
      return { ...b, ticks, totalMs: performance.now() - t0 };
    });
    console.log(
      `100k x 12 gallery search in the worker: median ${r.medianMs.toFixed(1)} ms, ${r.ticks} main-thread ticks in ${r.totalMs.toFixed(0)} ms`,
    );
    expect(r.rows).toBe(ROWS);
    // The 20 searches are one message to the worker: on the main thread they would be one synchronous loop, so at
    // most the first tick and one after it. More than that means the main thread kept running (how many more
    // depends on the machine's load, so the bound is not a timing).
    expect(r.ticks).toBeGreaterThan(2);
    const got = await queryFile(page, fixture('gray28.png'));
    expect(got.matches.map((x) => x.index)).toEqual(topK(got.embedding, 5));
  });
});

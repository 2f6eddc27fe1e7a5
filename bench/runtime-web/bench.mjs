// In-page latency and throughput of @semembed/runtime-web in Debian Chromium (wasm 1 thread, wasm all
// threads, WebGPU), beside onnxruntime-node (CPU EP) on the same model in the same run, plus the gallery
// search time for 10,000 x 100-d. Needs packages/runtime-web built (npm run build there).
//   node bench/runtime-web/bench.mjs [--rounds 3] [--iters1 30] [--iters32 8] [--out bench/results/runtime-web.json]
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { deflateSync, crc32 } from 'node:zlib';
import { ExactGallery, loadModel } from '@semembed/runtime-node';
import { encodeGallery } from '@semembed/runtime-web';
import { makeSite } from '@semembed/runtime-web/site';
import { makeModel } from './make-model.mjs';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const ROUNDS = Number(args.rounds ?? 3);
const IT1 = Number(args.iters1 ?? 30);
const IT32 = Number(args.iters32 ?? 8);
const OUT = args.out ?? join(ROOT, 'bench/results/runtime-web.json');
const WORK = join(ROOT, 'bench/results/tmp/runtime-web');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- model, gallery, site ----
mkdirSync(WORK, { recursive: true });
const modelDir = join(WORK, 'model');
if (!existsSync(join(modelDir, 'model.json'))) await makeModel(modelDir, 'fashion-cnn', 100);
const site = join(WORK, 'site');
makeSite({ model: join(modelDir, 'model.json'), out: site });
// A 10,000 x 100 gallery of random unit vectors (the search cost does not depend on the values).
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
const rows = 10000;
const dim = 100;
const feat = new Float32Array(rows * dim).map(rnd);
for (let r = 0; r < rows; r++) {
  let s = 0;
  for (let j = 0; j < dim; j++) s += feat[r * dim + j] ** 2;
  for (let j = 0; j < dim; j++) feat[r * dim + j] /= Math.sqrt(s);
}
writeFileSync(join(site, 'models/default/gallery.bin'), encodeGallery(feat, { rows, dim, dtype: 'float16' }));
writeFileSync(join(site, 'config.json'), JSON.stringify({ model: 'models/default/model.json', gallery: 'models/default/gallery.bin' }));

// ---- static server with COOP/COEP, so the page is cross-origin isolated and wasm may use threads ----
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream' };
const server = http.createServer((req, res) => {
  const p = normalize(join(site, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  const file = p.endsWith('/') ? join(p, 'index.html') : p;
  if (!file.startsWith(site) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

/** 28x28 gray PNG (stored filter rows), like the page's end-to-end images. */
function png28(i) {
  const raw = Buffer.alloc(28 * 29);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) raw[y * 29 + 1 + x] = x >= i % 20 && x < (i % 20) + 8 && y >= 4 && y < 24 ? 255 : (i * 37) % 256;
  const chunk = (tag, data) => {
    const body = Buffer.concat([Buffer.from(tag, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(28, 0);
  ihdr.writeUInt32BE(28, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const nodeGallery = new ExactGallery(feat, rows, dim);

// ---- onnxruntime-node baseline ----
async function nodeBench(threads) {
  const m = await loadModel(join(modelDir, 'model.json'), { ep: 'cpu', ...(threads && { threads }) });
  const out = {};
  for (const [bs, iters] of [[1, IT1], [32, IT32]]) {
    const x = new Float32Array(bs * m.sampleSize).map((_, i) => Math.sin(i * 12.9898) * 2);
    for (let i = 0; i < 3; i++) await m.run(x, bs);
    const runs = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      await m.run(x, bs);
      runs.push(performance.now() - t0);
    }
    out[bs] = median(runs);
  }
  // The server's path for one PNG: sharp decode + normalise, run, interpret, exact search (runtime-node).
  const e2e = [];
  const search = [];
  for (let i = 0; i < 18; i++) {
    const t0 = performance.now();
    const [r] = await m.embedImages([png28(i)]);
    const t1 = performance.now();
    nodeGallery.search(r.embedding, 10);
    const t2 = performance.now();
    if (i >= 3) {
      e2e.push(t2 - t0);
      search.push(t2 - t1);
    }
  }
  out.e2e = median(e2e);
  out.search = median(search);
  await m.release();
  return out;
}

// ---- browser ----
const ctx = await chromium.launchPersistentContext(join(WORK, `profile-${process.pid}`), {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'],
});
const CONFIGS = [
  { name: 'wasm, 1 thread', query: '?ep=wasm&threads=1' },
  { name: `wasm, ${os.cpus().length} threads`, query: `?ep=wasm&threads=${os.cpus().length}` },
  { name: 'WebGPU (SwiftShader)', query: '?ep=webgpu' },
];
const results = { machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; loaded (shared with other agents)`, chromium: ctx.browser()?.version() ?? '', rounds: ROUNDS, iters: { 1: IT1, 32: IT32 }, rows: [] };
const perRound = new Map();
const push = (name, k, v) => {
  if (!perRound.has(name)) perRound.set(name, { 1: [], 32: [], search: [], e2e: [], extra: {} });
  perRound.get(name)[k].push(v);
};
for (let round = 0; round < ROUNDS; round++) {
  const nb = await nodeBench();
  push('onnxruntime-node 1.30, CPU EP (default threads)', 1, nb[1]);
  push('onnxruntime-node 1.30, CPU EP (default threads)', 32, nb[32]);
  push('onnxruntime-node 1.30, CPU EP (default threads)', 'e2e', nb.e2e);
  push('onnxruntime-node 1.30, CPU EP (default threads)', 'search', nb.search);
  for (const c of CONFIGS) {
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(base + c.query);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 180_000 });
    const state = await page.evaluate(() => document.body.dataset.state);
    if (state === 'error') throw new Error(`${c.name}: ${await page.textContent('#error')}`);
    const status = await page.textContent('#status');
    const loadMs = Date.now() - t0;
    const b1 = await page.evaluate((it) => window.semembed.bench(1, it), IT1);
    const b32 = await page.evaluate((it) => window.semembed.bench(32, it), IT32);
    const s = await page.evaluate(() => window.semembed.benchSearch(50));
    // End to end for one image as the page handles a dropped file: PNG decode + canvas + normalise, run, top
    // classes, gallery search (the page's own timers), median of 15.
    const e2e = await page.evaluate(async () => {
      const c = new OffscreenCanvas(28, 28);
      const g = c.getContext('2d');
      const runs = [];
      for (let i = 0; i < 18; i++) {
        g.fillStyle = `rgb(${(i * 37) % 256},${(i * 91) % 256},${(i * 13) % 256})`;
        g.fillRect(0, 0, 28, 28);
        g.fillStyle = '#fff';
        g.fillRect(i % 20, 4, 8, 20);
        const file = new File([await c.convertToBlob({ type: 'image/png' })], `b${i}.png`, { type: 'image/png' });
        await window.semembed.query(file, file.name);
        const ms = window.semembed.last.ms;
        if (i >= 3) runs.push(ms.preprocess + ms.inference + ms.search);
      }
      runs.sort((a, b) => a - b);
      return runs[Math.floor(runs.length / 2)];
    });
    push(c.name, 'e2e', e2e);
    push(c.name, 1, b1.medianMs);
    push(c.name, 32, b32.medianMs);
    push(c.name, 'search', s.medianMs);
    perRound.get(c.name).extra = { status, loadMs };
    console.error(`round ${round + 1} ${c.name}: b1 ${b1.medianMs.toFixed(2)} ms, b32 ${b32.medianMs.toFixed(1)} ms, search ${s.medianMs.toFixed(2)} ms, e2e ${e2e.toFixed(2)} ms, load ${loadMs} ms | ${status}`);
    await page.close();
  }
  console.error(`round ${round + 1} node: b1 ${nb[1].toFixed(2)} ms, b32 ${nb[32].toFixed(1)} ms, search ${nb.search.toFixed(2)} ms, e2e ${nb.e2e.toFixed(2)} ms`);
}
for (const [name, v] of perRound) {
  const m1 = median(v[1]);
  const m32 = median(v[32]);
  results.rows.push({ name, batch1Ms: m1, batch1ImgPerS: 1000 / m1, batch32Ms: m32, batch32ImgPerS: 32000 / m32, searchMs: v.search.length ? median(v.search) : null, e2eMs: v.e2e.length ? median(v.e2e) : null, perRound: v, ...v.extra });
}
await ctx.close();
server.close();
writeFileSync(OUT, JSON.stringify(results, null, 1));
console.log('| runtime | batch 1: ms / image | batch 1: img/s | batch 32: ms / batch | batch 32: img/s | search 10k x 100: ms | one PNG end to end: ms |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results.rows) console.log(`| ${r.name} | ${r.batch1Ms.toFixed(2)} | ${r.batch1ImgPerS.toFixed(0)} | ${r.batch32Ms.toFixed(1)} | ${r.batch32ImgPerS.toFixed(0)} | ${r.searchMs === null ? '' : r.searchMs.toFixed(2)} | ${r.e2eMs === null ? '' : r.e2eMs.toFixed(2)} |`);

// The page's gallery search at 10k and 100k rows (issue #17: "a gallery of 100k images stays responsive: search off
// the main thread, results in < 50 ms"): the site served by `semembed serve` in Debian Chromium, the search in its
// Web Worker. Per size: the worker's median search time (benchSearch, 50 queries) while a main-thread timer keeps
// ticking, and whole queries as a user makes them (decode + preprocess, inference, search; the page's own timings).
//   node bench/runtime-web/gallery-search.mjs [--model model.json] [--rows 10000,100000] [--queries 20]
// Default model: the main job's (runs/fashion-mnist/semantic/model.json) when it exists, else the tiny test model.
// Writes bench/results/gallery-search.md and prints it.
/* global window, document, ImageData -- inside page.evaluate */
import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '@semembed/formats';
import { makeSite } from '@semembed/runtime-web/site';
import { fixturePath } from '@semembed/test-fixtures';
import { openSite } from '../quantize/site-browser.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : d);
const MAIN = 'runs/fashion-mnist/semantic/model.json';
const model = opt('model', existsSync(MAIN) ? MAIN : fixturePath('models/fashion-tiny.json'));
const sizes = opt('rows', '10000,100000').split(',').map(Number);
const queries = Number(opt('queries', '20'));
const load = () =>
  execSync('uptime')
    .toString()
    .trim()
    .replace(/.*load average: /, '');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const rows = [];
const loads = [load()];
for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'semembed-gallery-'));
  const dim = JSON.parse(readFileSync(model, 'utf8')).outputs.find((o) => o.kind === 'embedding').dim;
  // Random unit vectors: the search cost depends on rows x dim only (exact search, no index).
  const g = new Float32Array(n * dim);
  let seed = 11;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (g[r * dim + j] = rnd()) ** 2;
    for (let j = 0; j < dim; j++) g[r * dim + j] /= Math.sqrt(s);
  }
  writeNpy(join(dir, 'g.npy'), { dtype: 'float32', shape: [n, dim], data: g });
  makeSite({ model, gallery: join(dir, 'g.npy'), out: join(dir, 'site') });
  const { base, ctx, close } = await openSite(join(dir, 'site'));
  try {
    const page = await ctx.newPage();
    await page.goto(`${base}/?ep=wasm`, { timeout: 300_000 });
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 300_000 });
    const s = await page.evaluate(async () => {
      let ticks = 0;
      let stop = false;
      const tick = () => {
        ticks++;
        if (!stop) setTimeout(tick, 0);
      };
      tick();
      const t0 = performance.now();
      const b = await window.semembed.benchSearch(50);
      stop = true;
      return { ...b, ticks, totalMs: performance.now() - t0 };
    });
    const q = await page.evaluate(async (k) => {
      const m = window.semembed.model;
      const [h, w] = m.sidecar.input.shape.slice(-3, -1);
      const out = [];
      for (let i = 0; i < k + 2; i++) {
        const px = new Uint8ClampedArray(h * w * 4);
        for (let p = 0; p < px.length; p++) px[p] = p % 4 === 3 ? 255 : (p * 7 + i * 13) % 256;
        const t0 = performance.now();
        await window.semembed.query(new ImageData(px, w, h), `random ${i}`);
        const wall = performance.now() - t0;
        if (i >= 2) out.push({ wall, ...window.semembed.last.ms });
      }
      return out;
    }, queries);
    rows.push({ n, dim, s, q });
  } finally {
    await close();
  }
}
loads.push(load());
let md = '# Browser gallery search (the page, Chromium, search in a Web Worker)\n\n';
md += `Command: \`node bench/runtime-web/gallery-search.mjs\` (${new Date().toISOString().slice(0, 16)}Z, ${model}); `;
md += `machine: ${execSync('nproc').toString().trim()} cores, ${execSync("grep -m1 'model name' /proc/cpuinfo").toString().split(':')[1].trim()}; `;
md += `load average before → after: ${loads.join(' → ')}. Gallery: random unit vectors (exact search costs rows × dim).\n\n`;
md +=
  '| rows × dim | worker search, median of 50 (ms) | main-thread timer ticks meanwhile | whole query, median wall (ms) | of it: preprocess / inference / search (ms) |\n';
md += '|---|---:|---:|---:|---|\n';
for (const r of rows) {
  const m = (k) => median(r.q.map((x) => x[k])).toFixed(1);
  md += `| ${r.n} × ${r.dim} | ${r.s.medianMs.toFixed(1)} | ${r.s.ticks} in ${r.s.totalMs.toFixed(0)} ms | ${m('wall')} `;
  md += `| ${m('preprocess')} / ${m('inference')} / ${m('search')} |\n`;
}
md += `\nWhole queries: ${queries} random images per size through \`window.semembed.query\` (decode, preprocess, the model in onnxruntime-web wasm, the search, rendering the results), after 2 warm-up queries.\n`;
writeFileSync('bench/results/gallery-search.md', md);
console.log(md);

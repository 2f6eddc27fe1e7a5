// The page's own runtime (Chromium, onnxruntime-web wasm) on a shared, loaded machine: the variants of a site made by
// run.mjs or variants.mjs alternated round by round, the fastest runs kept (min, 10th percentile) beside the median.
// One page is open at a time (opened, warmed up by bench(), measured, closed): with every variant's page open at once,
// the idle pages' renderers took CPU from the measured one (resnet-110-wfc int8, 1 thread, idle machine: median
// 208.6 ms with three pages open, 52.7 ms alone; min 45.8 vs 45.7 ms).
// Usage: node bench/quantize/chromium-quiet.mjs SITE_DIR --batch 32 --iters 40 --rounds 4 [--threads 1] fp32 int8 ...
// The site is served by `semembed serve` (cross-origin isolated), so ?threads=N gets N wasm threads.
/* global document, window -- inside page.evaluate */
import { execSync } from 'node:child_process';
import { openSite } from './site-browser.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : d);
const site = argv[0];
const names = argv.slice(1).filter((a, i) => !a.startsWith('--') && !argv[i].startsWith('--'));
const [batch, iters, rounds, threads] = [
  opt('batch', '32'),
  opt('iters', '40'),
  opt('rounds', '4'),
  opt('threads', '1'),
].map(Number);
const load = () =>
  execSync('uptime')
    .toString()
    .trim()
    .replace(/.*load average: /, '');
const { base, ctx, close } = await openSite(site);
const loads = [load()];
const runs = Object.fromEntries(names.map((n) => [n, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (const n of names) {
      const page = await ctx.newPage();
      try {
        await page.goto(`${base}/?variant=${n}&ep=wasm&threads=${threads}`, { timeout: 300_000 });
        await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 300_000 });
        const got = await page.evaluate(() => window.semembed.model?.providers.threads);
        if (got !== undefined && got !== threads)
          throw new Error(`${n}: the page runs ${got} wasm threads, not ${threads}`);
        const res = await page.evaluate(([b, i]) => window.semembed.bench(b, i), [batch, iters]);
        runs[n].push(...res.runsMs);
      } finally {
        await page.close();
      }
    }
  }
} finally {
  await close();
}
loads.push(load());
const at = (xs, q) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];
const b0 = runs[names[0]];
let md = `| variant | min | ×${names[0]} | p10 | ×${names[0]} | median |\n|---|---:|---:|---:|---:|---:|\n`;
for (const n of names) {
  const xs = runs[n];
  md += `| ${n} | ${at(xs, 0).toFixed(2)} ms | ${(at(b0, 0) / at(xs, 0)).toFixed(2)} | ${at(xs, 0.1).toFixed(2)} ms `;
  md += `| ${(at(b0, 0.1) / at(xs, 0.1)).toFixed(2)} | ${at(xs, 0.5).toFixed(2)} ms |\n`;
}
md += `\nChromium, batch ${batch}, ${threads} wasm thread${threads === 1 ? '' : 's'}, ${rounds} rounds × ${iters} runs per variant, alternated, one page open at a time; `;
md += `load average before → after: ${loads.join(' → ')}.\n`;
console.log(md);

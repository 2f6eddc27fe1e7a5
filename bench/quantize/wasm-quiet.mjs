// onnxruntime-web wasm (Node) on a shared, loaded machine: many runs per fresh process, variants alternated, and the
// fastest runs kept (min, 10th percentile): what each variant costs in the moments the cores are free, which the
// median under load hides. Usage:
//   node bench/quantize/wasm-quiet.mjs --shape 28,28,1 --batch 32 --iters 150 --rounds 3 [--threads 1] fp32=a.onnx int8=b.onnx ...
// A variant may carry its own wasm threads and session options: name=FILE#THREADS#{"executionMode":"parallel"}.
// Prints a Markdown table (ratios against the first variant, measured in the same run).
import { execFileSync, execSync } from 'node:child_process';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : d);
const variants = argv.filter((a, i) => a.includes('=') && !argv[i - 1]?.startsWith('--'));
const [shape, batch, iters, rounds, threads] = [
  opt('shape', '28,28,1'),
  opt('batch', '32'),
  opt('iters', '150'),
  opt('rounds', '3'),
  opt('threads', '1'),
];
const load = () =>
  execSync('uptime')
    .toString()
    .trim()
    .replace(/.*load average: /, '');
const script = join(import.meta.dirname, 'ort-web.mjs');
const res = Object.fromEntries(variants.map((v) => [v.split('=')[0], []]));
const loads = [load()];
for (let r = 0; r < Number(rounds); r++) {
  for (const v of variants) {
    const [name, spec] = [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)];
    const [file, t = threads, options = '{}'] = spec.split('#');
    const out = execFileSync(process.execPath, [script, file, shape, batch, iters, t, options]).toString().trim();
    res[name].push(JSON.parse(out.split('\n').at(-1)));
  }
}
loads.push(load());
const best = (xs, k) => Math.min(...xs.map((x) => x[k]));
const base = Object.values(res)[0];
let md = `| variant | min | ×fp32 | p10 (best round) | ×fp32 | median (best round) |\n`;
md += `|---|---:|---:|---:|---:|---:|\n`;
for (const [name, xs] of Object.entries(res)) {
  const [mn, p10, med] = ['min', 'p10', 'median'].map((k) => best(xs, k));
  md += `| ${name} | ${mn.toFixed(2)} ms | ${(best(base, 'min') / mn).toFixed(2)} | ${p10.toFixed(2)} ms `;
  md += `| ${(best(base, 'p10') / p10).toFixed(2)} | ${med.toFixed(2)} ms |\n`;
}
md += `\nBatch ${batch}, ${threads} wasm thread${threads === '1' ? '' : 's'} (unless a variant says), ${iters} runs per process, ${rounds} rounds; `;
md += `load average before → after: ${loads.join(' → ')}.\n`;
console.log(md);

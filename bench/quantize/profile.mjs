// Per-op profile of onnxruntime-web's wasm build in Node (enableProfiling): where each variant spends its time.
// Usage: node bench/quantize/profile.mjs [--shape 28,28,1] [--batch 32] [--iters 60] [--threads 1] fp32=a.onnx int8=b.onnx
// Prints one Markdown table per variant: each node's kernel (its fastest run after 3 warm-ups, in ms), in graph order,
// and the sum. Profiles are taken under load like everything here: only ratios within a profile count.
import { execFileSync } from 'node:child_process';

const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : d);

if (argv[0] === '--child') {
  // The profiler writes its JSON events to stdout at endProfiling(); the parent parses them.
  const [, file, shapeArg, batchArg, itersArg, threadsArg] = argv;
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = Number(threadsArg);
  ort.env.logLevel = 'error';
  const s = await ort.InferenceSession.create(file, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    enableProfiling: true,
  });
  const shape = shapeArg.split(',').map(Number);
  const x = new Float32Array(Number(batchArg) * shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i) * 2);
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', x, [Number(batchArg), ...shape]) };
  for (let i = 0; i < Number(itersArg); i++) await s.run(feeds);
  s.endProfiling();
  process.exit(0);
}

const variants = argv.filter((a, i) => a.includes('=') && !argv[i - 1]?.startsWith('--'));
const [shape, batch, iters, threads] = [
  opt('shape', '28,28,1'),
  opt('batch', '32'),
  opt('iters', '60'),
  opt('threads', '1'),
];
const WARMUP = 3;

function profile(file) {
  const out = execFileSync(process.execPath, [import.meta.filename, '--child', file, shape, batch, iters, threads], {
    maxBuffer: 1 << 28,
  }).toString();
  const json = out.slice(out.indexOf('['), out.lastIndexOf(']') + 1);
  const events = JSON.parse(json).filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const nodes = new Map();
  for (const e of events) {
    const key = e.name.replace(/_kernel_time$/, '');
    if (!nodes.has(key)) nodes.set(key, { op: e.args.op_name, shape: outShape(e), us: [] });
    nodes.get(key).us.push(e.dur);
  }
  const rows = [];
  for (const [name, n] of nodes) {
    const xs = n.us.slice(WARMUP).sort((a, b) => a - b);
    // The fastest run of each node: on loaded shared cores the mean of even the fastest half still swung 2x between
    // two runs of the same kernel.
    rows.push({ name, op: n.op, shape: n.shape, ms: xs[0] / 1000 });
  }
  return rows;
}

function outShape(e) {
  const t = e.args.output_type_shape?.[0];
  if (!t) return '';
  const [type, dims] = Object.entries(t)[0];
  return `${type}[${dims.join(',')}]`;
}

let md = '';
for (const v of variants) {
  const [name, file] = v.split('=');
  const rows = profile(file);
  const total = rows.reduce((a, r) => a + r.ms, 0);
  md += `### ${name} (batch ${batch}, ${threads} thread${threads === '1' ? '' : 's'}): sum of the kernels' fastest runs ${total.toFixed(2)} ms\n\n`;
  md += `| node | op | output | ms | share |\n|---|---|---|---:|---:|\n`;
  for (const r of rows)
    md += `| ${r.name} | ${r.op} | ${r.shape} | ${r.ms.toFixed(3)} | ${((100 * r.ms) / total).toFixed(0)}% |\n`;
  md += '\n';
}
console.log(md);

// Quantised variants of a trained Fashion-MNIST model and of resnet-110-wfc: size, onnxruntime-node CPU latency,
// onnxruntime-web wasm latency in Node and in Chromium, mAHP@250 and balanced accuracy (fp32 / fp16 / int8 in the
// cpu and web forms, with int8 activations and per-tensor weights as probes / dynamic).
// Usage: node bench/quantize/run.mjs --fashion runs/fashion-mnist/semantic/model.onnx [--resnet R.onnx | random]
//   [--rounds 3] [--notes NOTES.md: appended to the report]
// Writes bench/results/quantize.md (+ quantize.json). Needs packages/runtime-web built (npm run build there).
/* global document, window -- used inside page.evaluate callbacks, which run in Chromium */
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readHierarchy } from '@semembed/hierarchy';
import { datasetSamples, evaluateCandidates, quantizeFile } from '@semembed/quantize';
import { makeSite } from '@semembed/runtime-web/site';
import { syntheticCalibration } from './calibration.mjs';
import { openSite } from './site-browser.mjs';

const root = join(import.meta.dirname, '..', '..');
const arg = (k, d) => (process.argv.includes(`--${k}`) ? process.argv[process.argv.indexOf(`--${k}`) + 1] : d);
const ROUNDS = Number(arg('rounds', 3));
// --no_batch32 MODEL[,MODEL]: single images only for these (resnet-110-wfc batches on one wasm thread take minutes).
const NO_B32 = (arg('no_batch32', '') || '').split(',');
// --merge FILE: sections measured by an earlier run (same JSON as quantize.json's report entries) go in first.
const MERGED = arg('merge') ? JSON.parse(readFileSync(arg('merge'), 'utf8')) : [];
const HIER = join(root, 'hierarchies/fashion-mnist/fashion-mnist.parent-child.txt');
const out = mkdtempSync(join(tmpdir(), 'semembed-bench-quantize-'));
const load = () =>
  execSync('uptime')
    .toString()
    .trim()
    .replace(/.*load average: /, '');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const loads = [load()];

async function ortLatency(path, shape, batch, threads, iters) {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: threads });
  const x = new Float32Array(batch * shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i) * 2);
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', x, [batch, ...shape]) };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const ms = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    ms.push(performance.now() - t0);
  }
  await s.release();
  return median(ms);
}

/** Variants per model: [name, quantizeFile options]; the probes (s8 activations, per-tensor) only for small models. */
const VARIANTS = {
  fp16: { mode: 'fp16' },
  int8: { mode: 'int8', target: 'cpu' },
  'int8-s8': { mode: 'int8', target: 'cpu', activations: 'int8', probe: true },
  'int8-web': { mode: 'int8', target: 'web' },
  'int8-web-pt': { mode: 'int8', target: 'web', perChannel: false, probe: true },
  dynamic: { mode: 'dynamic' },
};

async function variantsOf(name, onnx, calibration, probes) {
  const dir = join(out, name);
  mkdirSync(dir, { recursive: true });
  const files = { fp32: onnx };
  for (const [v, { probe, ...opts }] of Object.entries(VARIANTS)) {
    if (probe && !probes) continue;
    const t0 = performance.now();
    await quantizeFile(onnx, join(dir, `model.${v}.onnx`), { ...opts, calibration: [calibration] });
    console.error(`${name} ${v}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    files[v] = join(dir, `model.${v}.onnx`);
  }
  return files;
}

/** onnxruntime-web wasm in Node, one process per measurement (see ort-web.mjs). */
function ortWebLatency(path, shape, batch, iters) {
  const script = join(import.meta.dirname, 'ort-web.mjs');
  const r = execSync(`node ${script} ${path} ${shape.join(',')} ${batch} ${iters}`, { cwd: root });
  return JSON.parse(r.toString().trim().split('\n').at(-1));
}

async function browserLatency(name, files, sidecar, shape, b32) {
  const site = join(out, `${name}-site`);
  makeSite({
    model: sidecar,
    out: site,
    variants: Object.fromEntries(
      Object.entries(files)
        .filter(([v]) => v !== 'fp32')
        .map(([v, f]) => [v, f.replace(/\.onnx$/, '.json')]),
    ),
  });
  const { base, ctx, close } = await openSite(site);
  const res = {};
  try {
    for (const v of Object.keys(files)) {
      const page = await ctx.newPage();
      // The loaded machine can take minutes to compile ORT's wasm for a fresh page.
      await page.goto(`${base}/?variant=${v}&ep=wasm&threads=1`, { timeout: 300_000 });
      await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, {
        timeout: 300_000,
      });
      const err = await page.evaluate(() => window.semembed.error);
      if (err) {
        res[v] = { error: err };
        await page.close();
        continue;
      }
      const b1 = [],
        batch32 = [];
      for (let r = 0; r < ROUNDS; r++) {
        b1.push((await page.evaluate(() => window.semembed.bench(1, 20))).medianMs);
        if (b32) batch32.push((await page.evaluate(() => window.semembed.bench(32, 4))).medianMs);
      }
      res[v] = { b1: median(b1), b32: b32 ? median(batch32) : undefined };
      await page.close();
    }
  } finally {
    await close();
  }
  return res;
}

const models = [];
const fashion = arg('fashion');
if (fashion) {
  const sidecar = fashion.replace(/\.onnx$/, '.json');
  const calib = await datasetSamples('FashionMNIST', undefined, sidecar, 'train', 256);
  models.push({
    name: 'fashion',
    onnx: fashion,
    sidecar,
    shape: [28, 28, 1],
    calib,
    how: arg('fashion_how', 'trained'),
  });
}
/** resnet-110-wfc with random weights (bench/runtime-node/prepare.mjs's builder), converted by semembed convert. */
async function makeResnet() {
  const tf = await import('@tensorflow/tfjs');
  const { buildTfModel } = await import('../runtime-node/prepare.mjs');
  const { writeKerasH5, modelWeights } = await import('@semembed/trainer');
  await tf.setBackend('cpu');
  const { cfg, model } = await buildTfModel(tf, 'resnet-110-wfc');
  const h5 = join(out, 'resnet-110-wfc.h5');
  await writeKerasH5(h5, { modelConfig: cfg, layers: await modelWeights(model) });
  execSync(
    `node ${join(root, 'tools/cli/bin/semembed.js')} convert ${h5} ${join(out, 'resnet-110-wfc.onnx')} ` +
      '--dataset CIFAR-100',
    { stdio: 'inherit' },
  );
  return join(out, 'resnet-110-wfc.onnx');
}

const resnet = arg('resnet') === 'random' ? await makeResnet() : arg('resnet');
if (resnet) {
  const sidecar = resnet.replace(/\.onnx$/, '.json');
  models.push({
    name: 'resnet-110-wfc',
    onnx: resnet,
    sidecar,
    shape: [32, 32, 3],
    calib: syntheticCalibration(JSON.parse(readFileSync(sidecar, 'utf8')), 64),
    how: 'random weights',
  });
}

const report = [...MERGED];
for (const m of models) {
  const files = await variantsOf(m.name, m.onnx, m.calib, m.name === 'fashion');
  const b32 = !NO_B32.includes(m.name);
  // Rounds outermost, variants interleaved inside each: a load spike hits every variant alike.
  const lat = Object.fromEntries(Object.keys(files).map((v) => [v, { b1: [], b32: [], w1: [], w32: [] }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [v, f] of Object.entries(files)) {
      lat[v].b1.push(await ortLatency(f, m.shape, 1, 1, 20));
      if (b32) lat[v].b32.push(await ortLatency(f, m.shape, 32, 1, 4));
      lat[v].w1.push(ortWebLatency(f, m.shape, 1, b32 ? 20 : 5));
      if (b32) lat[v].w32.push(ortWebLatency(f, m.shape, 32, 10));
    }
  }
  const row = {};
  for (const [v, f] of Object.entries(files)) {
    const med = (xs) => (xs.length ? median(xs) : undefined);
    row[v] = {
      bytes: statSync(f).size,
      ortB1: med(lat[v].b1),
      ortB32: med(lat[v].b32),
      webNodeB1: med(lat[v].w1.map((x) => x.median)),
      webNodeB32: med(lat[v].w32.map((x) => x.median)),
      // The fastest run of all rounds: what the variant costs when the shared cores are free.
      webNodeB32Min: lat[v].w32.length ? Math.min(...lat[v].w32.map((x) => x.min)) : undefined,
      webNodeB1Min: Math.min(...lat[v].w1.map((x) => x.min)),
    };
  }
  if (m.name === 'fashion') {
    const slice = await datasetSamples('FashionMNIST', undefined, m.sidecar, 'test', 1000);
    const sc = JSON.parse(readFileSync(m.sidecar, 'utf8'));
    const res = await evaluateCandidates(
      Object.entries(files).map(([name, f]) => ({ name, bytes: readFileSync(f) })),
      { ...slice, hierarchy: readHierarchy(HIER) },
      {
        embeddingOutput: sc.outputs.find((o) => o.kind === 'embedding').name,
        probOutput: sc.outputs.find((o) => o.kind === 'probabilities').name,
        latencyRuns: 3,
      },
    );
    for (const r of res) Object.assign(row[r.name], { mahp: r.mahp, acc: r.accuracy, delta: r.maxAbsDelta, ok: r.ok });
  }
  const web = await browserLatency(m.name, files, m.sidecar, m.shape, !NO_B32.includes(m.name));
  for (const [v, w] of Object.entries(web)) Object.assign(row[v], { web: w });
  report.push({ model: m.name, how: m.how, row });
  // Kept as it goes: a later model's failure does not lose this one (--merge takes it back).
  writeFileSync(join(out, 'report.json'), JSON.stringify(report));
  console.error(`sections so far: ${join(out, 'report.json')}`);
  loads.push(load());
  console.error(JSON.stringify(row));
}

const f = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' ? ` (${(b / a).toFixed(2)}×)` : '');
let md = `# quantize: fp32 / fp16 / int8 (static QDQ: cpu and web forms) / dynamic (int8 Dense)\n\n`;
md += `Command: \`node bench/quantize/run.mjs ${process.argv.slice(2).join(' ')}\`. `;
md += `Machine: this 2-core development VM, shared with other helpers; load average (1/5/15 min) before and after `;
md += `each model: ${loads.join(' → ')}. Latencies are medians of ${ROUNDS} rounds, variants interleaved within `;
md += `each round (ORT CPU: a median of 20 single-image / 4 batch-32 runs; ORT-web in Node: 20 / 10 runs in a fresh `;
md += `process per measurement; Chromium: 20 / 4 runs on the served page), all with one thread (onnxruntime-node `;
md += `\`intraOpNumThreads: 1\`; wasm SIMD, \`numThreads 1\` / \`?threads=1\`). The fp32 row is the baseline `;
md += `measured in the same run; (n×) = fp32 time / variant time; ORT-web (Node) also gives the fastest run of `;
md += `all rounds (min), the least load-dependent figure. Under this load single numbers are noisy; sizes `;
md += `and accuracy columns are not.\n\n`;
md += `Variants: \`int8\` = \`--mode int8\` (cpu form: uint8 activations, int8 per-channel weights, BN-after-ReLU `;
md += `affines as 1x1 depthwise convs), \`int8-s8\` = int8 activations, \`int8-web\` = \`--target web\` (affines `;
md += `folded into the weights, the depth-9 first conv float), \`int8-web-pt\` = web with per-tensor weights.\n\n`;
for (const r of report) {
  md += `## ${r.model} (${r.how})\n\n`;
  md += `| variant | size | ORT CPU 1 image | ORT CPU batch 32 | ORT-web wasm (Node) 1 image `;
  md += `| ORT-web wasm (Node) batch 32 `;
  md += `| Chromium wasm 1 image | Chromium wasm batch 32 | mAHP@250 | balanced accuracy | max abs Δ embedding |\n`;
  md += `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n`;
  const base = r.row.fp32;
  for (const [v, x] of Object.entries(r.row)) {
    const web = x.web?.error ? `error: ${x.web.error}` : `${f(x.web?.b1)} ms${ratio(x.web?.b1, base.web?.b1)}`;
    md += `| ${v} | ${(x.bytes / 1024).toFixed(0)} KiB | ${f(x.ortB1)} ms `;
    md += `| ${f(x.ortB32, 1)} ms${ratio(x.ortB32, base.ortB32)} `;
    md += `| ${f(x.webNodeB1)} ms${ratio(x.webNodeB1, base.webNodeB1)}; min ${f(x.webNodeB1Min)} ms`;
    md += `${ratio(x.webNodeB1Min, base.webNodeB1Min)} `;
    md += `| ${f(x.webNodeB32, 1)} ms${ratio(x.webNodeB32, base.webNodeB32)}; min ${f(x.webNodeB32Min, 1)} ms`;
    md += `${ratio(x.webNodeB32Min, base.webNodeB32Min)} `;
    md += `| ${web} | ${f(x.web?.b32, 1)} ms${ratio(x.web?.b32, base.web?.b32)} | ${f(x.mahp, 4)} `;
    md += `| ${x.acc !== undefined ? `${f(x.acc * 100)}%` : '—'} | ${f(x.delta, 4)} |\n`;
  }
  md += '\n';
}
const NOTES = arg('notes');
if (NOTES) md += readFileSync(NOTES, 'utf8');
writeFileSync(join(root, 'bench/results/quantize.json'), JSON.stringify({ loads, report }, null, 1));
writeFileSync(join(root, 'bench/results/quantize.md'), md);
console.log(md);

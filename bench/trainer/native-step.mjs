// Training throughput of the native training step (packages/trainer/src/native-step) against the TF.js step
// (SEMEMBED_NATIVE_STEP=0) and PyTorch CPU, interleaved run by run so all see the same load: the same fit() as
// throughput.mjs (bench/trainer/setup.mjs: batch 100, inv_corr, SGD momentum 0.9 + clipnorm 10, L2, BN training).
// Rows: 1 thread; 1 worker with 2 native kernel threads (when the addon has setNativeThreads, native/parallel.h);
// 2 data-parallel workers of 1 native thread. `uptime` before and after is printed.
// Usage: node bench/trainer/native-step.mjs [--reps 3] [--steps 10] [--archs fashion-cnn,simple]
//   [--python /tmp/venv-torch/bin/python | --torch no] [--workers no]
import { execSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as trainer from '@semembed/trainer';
import { EMBEDDING, SHAPES, benchFitOptions, benchModel, benchSchedule, syntheticSplit } from './setup.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const reps = Number(arg('reps', 3));
const steps = Number(arg('steps', 10));
const archs = arg('archs', 'fashion-cnn,simple').split(',');
const torch = arg('torch', 'yes') !== 'no';
const python = arg('python', process.env.SEMEMBED_TORCH_PYTHON ?? '/tmp/venv-torch/bin/python');
const withWorkers = arg('workers', 'yes') !== 'no';
const { selectBackend, fit, GradientWorkers, loadNativeConv } = trainer;
const native = loadNativeConv().native;
const setNativeThreads = native?.setNativeThreads?.bind(native);
const VARIANTS = { 'native step': '1', 'TF.js step': '0' };
const uptime = () => execSync('uptime').toString().trim();
console.log(`before: ${uptime()}`);

async function run(arch, variant, workers, nativeThreads = 1) {
  // helper threads copy process.env when they start
  process.env.SEMEMBED_NATIVE_STEP = VARIANTS[variant];
  setNativeThreads?.(nativeThreads);
  const { tf } = await selectBackend('wasm');
  const { cfg, model } = await benchModel(tf, arch);
  const pool =
    workers > 1
      ? await GradientWorkers.start(workers, model, {
          backend: 'wasm',
          modelConfig: cfg,
          loss: 'inv_corr',
          clsWeight: 0,
          embedding: EMBEDDING.embedding,
          embRows: EMBEDDING.rows,
          embDim: 10,
          numClasses: 10,
          inputShape: SHAPES[arch],
        })
      : undefined;
  const common = benchFitOptions(trainer, tf, model, 100, { workers: pool });
  await fit({ ...common, train: syntheticSplit(SHAPES[arch], 200), schedule: benchSchedule(trainer, 2) });
  const train = syntheticSplit(SHAPES[arch], 100 * steps);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fit({ ...common, train, schedule: benchSchedule(trainer, steps) });
  const wall = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  common.optimizer.dispose();
  model.dispose();
  await pool?.dispose();
  // process CPU: the calling thread and the helpers (worker threads are in the same process)
  return {
    ms: (wall * 1000) / steps,
    img_per_s: (100 * steps) / wall,
    cpu_img_per_s: (100 * steps) / ((cu.user + cu.system) / 1e6),
  };
}

function torchRun(arch, threads) {
  const r = spawnSync(python, [path.join(here, 'torch_throughput.py'), arch, String(threads), '100', String(steps)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').pop() };
  const t = JSON.parse(r.stdout.trim().split('\n').pop());
  return { ...t, ms: 100_000 / t.img_per_s };
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const results = new Map();
const add = (k, v) => (results.get(k) ?? results.set(k, []).get(k)).push(v);
for (let r = 0; r < reps; r++) {
  for (const arch of archs) {
    for (const variant of Object.keys(VARIANTS)) {
      add(`${arch} | tfjs wasm, ${variant} (1 thread)`, await run(arch, variant, 1));
      if (setNativeThreads)
        add(`${arch} | tfjs wasm, ${variant} (1 worker, 2 native threads)`, await run(arch, variant, 1, 2));
      if (withWorkers) add(`${arch} | tfjs wasm, ${variant} (2 workers)`, await run(arch, variant, 2));
    }
    for (const th of torch ? [1, 2] : []) {
      const t = torchRun(arch, th);
      add(`${arch} | PyTorch CPU ${t.torch ?? ''} (${th} thread${th > 1 ? 's' : ''})`, t);
    }
    console.error(`rep ${r + 1}/${reps} ${arch} done`);
  }
}
console.log(`after: ${uptime()}`);
console.log(
  `machine: ${os.cpus().length} x ${os.cpus()[0].model}; ${reps} runs each, ${steps} steps of batch 100 after 2 warm-up steps`,
);
console.log(
  '| network | runtime | ms / step (median) | img/s wall (median) | img/s per CPU-second (median) | runs (img/s) |',
);
console.log('|---|---|---|---|---|---|');
for (const [k, v] of results) {
  const ok = v.filter((x) => !x.error);
  const [net, rt] = k.split(' | ');
  if (!ok.length) {
    console.log(`| ${net} | ${rt} | error: ${v[0].error} | | | |`);
    continue;
  }
  const m = (f) => median(ok.map(f));
  console.log(
    `| ${net} | ${rt} | ${m((x) => x.ms).toFixed(1)} | ${m((x) => x.img_per_s).toFixed(0)} | ${m((x) => x.cpu_img_per_s).toFixed(0)} | ${ok.map((x) => x.img_per_s.toFixed(0)).join(', ')} |`,
  );
}

// Training throughput (images/s) of the trainer on TensorFlow.js backends vs PyTorch CPU on the same machine,
// interleaved run by run so that both see the same load. Random data (no input pipeline), batch 100,
// loss inv_corr (l2norm), SGD momentum 0.9, clipnorm 10, L2 kernel regularisers, BN in training mode; `uptime`
// before and after says the load the runs saw. The cpu backend is measured once, one step without warm-up (it is
// two orders of magnitude slower).
// wasm runs with the native convolutions when they are built (SEMEMBED_NATIVE_CONV=0 to measure without): on the
// calling thread with each of --native-threads (the addon's own kernel threads, native/parallel.h; default 1,2),
// and with 2 data-parallel workers (1 native thread: the workers are the parallelism there).
// Usage: node bench/trainer/throughput.mjs [--reps 5] [--steps 10] [--backends wasm,cpu] [--archs simple,fashion-cnn]
//   [--torch no] [--python /tmp/venv-torch/bin/python] [--trainer DIR --label NAME] [--workers no]
//   [--native-threads 1,2] [--variants native,tfjs]: the wasm rows once per training-step path, interleaved
//   (native: the native step of src/native-step where the model has one; tfjs: SEMEMBED_NATIVE_STEP=0, the TF.js
//   tape); default: the path the environment gives, unlabelled.
import { execSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import {
  EMBEDDING,
  SHAPES,
  benchFitOptions,
  benchModel,
  benchSchedule,
  syntheticSplit as synthetic,
} from './setup.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const reps = Number(arg('reps', 5));
const steps = Number(arg('steps', 10));
const backends = arg('backends', 'wasm,cpu').split(',');
const archs = arg('archs', 'simple,fashion-cnn').split(',');
const torch = arg('torch', 'yes') !== 'no';
// The pip build (e.g. a venv with /opt/wheels' torch 2.13) is several times faster than Debian's python3-torch.
const python = arg('python', process.env.SEMEMBED_TORCH_PYTHON ?? '/usr/bin/python3');
// --trainer DIR measures another build of the package (its dist/ and native/build, e.g. an older commit unpacked
// with `git archive`) under --label NAME; --workers no skips the data-parallel rows.
const trainerDir = arg('trainer', undefined);
const label = arg('label', undefined);
const withWorkers = arg('workers', 'yes') !== 'no';
const variants = arg('variants', '').split(',').filter(Boolean);
const STEP_ENV = { native: '1', tfjs: '0' };
const STEP_LABEL = { native: ', native step', tfjs: ', TF.js step' };
for (const v of variants) if (!STEP_ENV[v]) throw new Error(`--variants: unknown '${v}' (native, tfjs)`);
const nativeThreadCounts = arg('native-threads', '1,2').split(',').map(Number);
const trainer = await import(trainerDir ? path.resolve(trainerDir, 'dist/index.js') : '@semembed/trainer');
const { selectBackend, fit, GradientWorkers, loadNativeConv } = trainer;

// An older build (--trainer) has no kernel threads: its rows say "1 thread" as before.
const setNativeThreads = loadNativeConv().native?.setNativeThreads?.bind(loadNativeConv().native);

async function tfjsRun(backend, arch, batch, nSteps, warmup = true, threads = 1, nativeThreads = 1) {
  setNativeThreads?.(nativeThreads);
  const { tf } = await selectBackend(backend);
  const { cfg, model } = await benchModel(tf, arch);
  const workers =
    threads > 1
      ? await GradientWorkers.start(threads, model, {
          backend,
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
  const common = benchFitOptions(trainer, tf, model, batch, { workers });
  const opt = common.optimizer;
  if (warmup) await fit({ ...common, train: synthetic(SHAPES[arch], batch * 2), schedule: benchSchedule(trainer, 2) });
  // the data is made before the clocks start (as torch_throughput.py does): only the steps are timed
  const train = synthetic(SHAPES[arch], batch * nSteps);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fit({
    ...common,
    train,
    schedule: benchSchedule(trainer, nSteps),
  });
  const wall = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  opt.dispose();
  model.dispose();
  await workers?.dispose();
  return { img_per_s: (batch * nSteps) / wall, cpu_img_per_s: (batch * nSteps) / ((cu.user + cu.system) / 1e6) };
}

function torchRun(arch, threads, batch, nSteps) {
  const r = spawnSync(
    python,
    [path.join(here, 'torch_throughput.py'), arch, String(threads), String(batch), String(nSteps)],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

const uptime = () => execSync('uptime').toString().trim();
console.log(`before: ${uptime()}`);
const results = {};
const add = (k, v) => (results[k] ??= []).push(v);
for (let r = 0; r < reps; r++) {
  for (const arch of archs) {
    for (const be of backends) {
      // cpu is ~100x slower: one small measurement (no warm-up) in the first run only
      if (be === 'cpu' && r > 0) continue;
      const [b, n] = be === 'cpu' ? (arch === 'simple' ? [10, 1] : [100, 1]) : [100, steps];
      for (const v of be === 'wasm' && variants.length ? variants : ['']) {
        // the data-parallel helpers copy process.env when they start (inside tfjsRun)
        if (v) process.env.SEMEMBED_NATIVE_STEP = STEP_ENV[v];
        const name =
          (be === 'wasm' && loadNativeConv().native ? 'wasm + native kernels' : be) +
          (v ? STEP_LABEL[v] : '') +
          (label ? `, ${label}` : '');
        if (be !== 'wasm' || !setNativeThreads) {
          add(`${arch} | tfjs ${name} (1 thread) | batch ${b}`, await tfjsRun(be, arch, b, n, be !== 'cpu'));
        } else {
          for (const t of nativeThreadCounts) {
            const what = `1 worker, ${t} native thread${t > 1 ? 's' : ''}`;
            add(`${arch} | tfjs ${name} (${what}) | batch ${b}`, await tfjsRun(be, arch, b, n, true, 1, t));
          }
        }
        if (be === 'wasm' && withWorkers) {
          const what = `2 workers, data-parallel${setNativeThreads ? ', 1 native thread' : ''}`;
          add(`${arch} | tfjs ${name} (${what}) | batch ${b}`, await tfjsRun(be, arch, b, n, true, 2, 1));
        }
      }
    }
    for (const th of torch ? [1, 2] : []) {
      const t = torchRun(arch, th, 100, steps);
      add(`${arch} | PyTorch CPU ${t.torch ?? ''} (${th} thread${th > 1 ? 's' : ''}) | batch 100`, t);
    }
    console.error(`rep ${r + 1}/${reps} ${arch} done`);
  }
}
console.log(`after: ${uptime()}`);
const load = os
  .loadavg()
  .map((v) => v.toFixed(1))
  .join(' ');
console.log(
  `machine: ${os.cpus().length} x ${os.cpus()[0].model}, load average at end ${load}; ${reps} runs each, ${steps} steps after 2 warm-up steps`,
);
console.log('| network | runtime | batch | img/s wall (median) | img/s per CPU-second (median) | runs (wall) |');
console.log('|---|---|---|---|---|---|');
for (const [k, v] of Object.entries(results)) {
  const ok = v.filter((x) => !x.error);
  if (!ok.length) {
    console.log(`| ${k.split(' | ').join(' | ')} | error: ${v[0].error} | | |`);
    continue;
  }
  const [net, rt, b] = k.split(' | ');
  console.log(
    `| ${net} | ${rt} | ${b.replace('batch ', '')} | ${median(ok.map((x) => x.img_per_s)).toFixed(1)} | ${median(ok.map((x) => x.cpu_img_per_s)).toFixed(1)} | ${ok.map((x) => x.img_per_s.toFixed(0)).join(', ')} |`,
  );
}

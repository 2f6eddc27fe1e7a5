// Per-kernel time of training steps on the wasm backend (wraps every registered wasm kernel with a timer; nested
// kernel calls count toward the outer one). Medians over --reps fits of 3 steps each, after one warm-up fit.
// Usage: node bench/trainer/prof-kernels.mjs [simple|fashion-cnn] [--reps 5] [--trainer DIR]
// SEMEMBED_NATIVE_CONV_ONLY=1 profiles the code before issue 19's change (JavaScript per-channel loops, BatchMatMul
// composed of Transpose + wasm's kernel); the native convolutions stay.
// The native training step (SEMEMBED_NATIVE_STEP, on by default where the model has one) calls no tfjs kernels:
// SEMEMBED_NATIVE_STEP_PROFILE=1 adds its per-op table; SEMEMBED_NATIVE_STEP=0 profiles the TF.js path.
// --trainer DIR profiles another copy of the package (its dist/ and native/build), e.g. an older commit
// unpacked with `git archive` and built, as a baseline in the same session.
import path from 'node:path';
import { SHAPES, benchFitOptions, benchModel, benchSchedule, syntheticSplit } from './setup.mjs';
const ti = process.argv.indexOf('--trainer');
const trainer = await import(ti > 0 ? path.resolve(process.argv[ti + 1], 'dist/index.js') : '@semembed/trainer');
const { selectBackend, fit } = trainer;
const arch = process.argv[2] ?? 'simple';
const ri = process.argv.indexOf('--reps');
const reps = ri > 0 ? Number(process.argv[ri + 1]) : 5;
const { tf } = await selectBackend('wasm');
const times = new Map();
let depth = 0;
// Phases of a step: kernels by the phase they ran in (the model's training forward, the optimiser, the rest =
// loss, backprop and the Bessel correction) and wall time of the phases' JavaScript and of the copies between JS
// and the wasm heap (the backend's write = the batch and targets, read = loss, outputs).
let phase = 'loss + gradients';
const phaseKernels = new Map();
const phaseWall = new Map();
const timed = (obj, name, label, when = () => true) => {
  const f = obj[name].bind(obj);
  obj[name] = (...a) => {
    // nested phases (a scalar uploaded inside the forward pass) count toward the outer one
    if (!when(...a) || phase !== 'loss + gradients') return f(...a);
    const [prev, t] = [phase, performance.now()];
    phase = label;
    try {
      return f(...a);
    } finally {
      phase = prev;
      phaseWall.set(label, (phaseWall.get(label) ?? 0) + performance.now() - t);
    }
  };
};
const wasmBackend = tf.findBackend('wasm');
timed(wasmBackend, 'write', 'copies JS -> heap');
timed(wasmBackend, 'readSync', 'copies heap -> JS');
timed(wasmBackend, 'read', 'copies heap -> JS');
for (const k of tf.getKernelsForBackend('wasm')) {
  const f = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({
    ...k,
    kernelFunc: (a) => {
      depth++;
      const t = performance.now();
      try {
        return f(a);
      } finally {
        depth--;
        if (depth === 0) {
          const dt = performance.now() - t;
          const e = times.get(k.kernelName) ?? [0, 0];
          e[0] += dt;
          e[1]++;
          times.set(k.kernelName, e);
          phaseKernels.set(phase, (phaseKernels.get(phase) ?? 0) + dt);
        }
      }
    },
  });
}
const { model } = await benchModel(tf, arch);
timed(model, 'apply', 'forward (model, training)', (_x, kw) => kw?.training === true);
const common = benchFitOptions(trainer, tf, model, 100, {
  train: syntheticSplit(SHAPES[arch], 100 * 3),
  schedule: benchSchedule(trainer, 3),
});
timed(common.optimizer, 'apply', 'optimiser (SGD momentum + clipnorm)');
await fit(common);
const median = (a) => [...a].sort((p, q) => p - q)[(a.length - 1) >> 1];
const perKernel = new Map();
const totals = [];
const cpus = [];
const phaseRuns = [];
const opRuns = [];
for (let r = 0; r < reps; r++) {
  trainer.nativeStepProfile?.clear();
  times.clear();
  phaseKernels.clear();
  phaseWall.clear();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await fit(common);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1000);
  totals.push(performance.now() - t0);
  const rest = totals.at(-1) - [...phaseWall.values()].reduce((a, b) => a + b, 0);
  phaseRuns.push({ k: new Map(phaseKernels), w: new Map([...phaseWall, ['loss + gradients', rest]]) });
  opRuns.push(new Map([...(trainer.nativeStepProfile ?? new Map())].map(([k, v]) => [k, v])));
  for (const [k, [t, c]] of times) (perKernel.get(k) ?? perKernel.set(k, { t: [], c }).get(k)).t.push(t);
}
const tot = median(totals);
const rows = [...perKernel].map(([k, v]) => [k, median(v.t), v.c]).sort((a, b) => b[1] - a[1]);
const kern = rows.reduce((s, r) => s + r[1], 0);
console.log(
  `${arch}: median of ${reps} fits of 3 steps (batch 100): total ${tot.toFixed(0)} ms, in kernels ${kern.toFixed(0)} ms` +
    `; process CPU ${median(cpus).toFixed(0)} ms (min ${Math.min(...cpus).toFixed(0)})`,
);
console.log('| kernel | ms / 3 steps (median) | share of total | calls |');
console.log('|---|---|---|---|');
for (const [k, t, c] of rows.slice(0, 25))
  console.log(`| ${k} | ${t.toFixed(0)} | ${((100 * t) / tot).toFixed(1)} % | ${c} |`);
console.log(
  `| (outside kernels: tape, tidy, optimiser bookkeeping, data) | ${(tot - kern).toFixed(0)} | ${((100 * (tot - kern)) / tot).toFixed(1)} % | |`,
);
console.log('');
console.log('| phase | kernels, ms / 3 steps (median) | wall incl. JavaScript, ms / 3 steps (median) |');
console.log('|---|---|---|');
const phases = [
  'forward (model, training)',
  'loss + gradients',
  'optimiser (SGD momentum + clipnorm)',
  'copies JS -> heap',
  'copies heap -> JS',
];
for (const ph of phases) {
  const k = median(phaseRuns.map((r) => r.k.get(ph) ?? 0));
  const w = median(phaseRuns.map((r) => r.w.get(ph) ?? 0));
  const note = ph === 'loss + gradients' ? ' (the rest of the step: tape, tidy, data batching, JS)' : '';
  console.log(`| ${ph} | ${k.toFixed(1)} | ${w.toFixed(1)}${note} |`);
}
if (opRuns.some((m) => m.size)) {
  console.log('');
  console.log('| native step op (SEMEMBED_NATIVE_STEP_PROFILE=1) | ms / 3 steps (median) | share of total | calls |');
  console.log('|---|---|---|---|');
  const ops = [...opRuns[0].keys()].map((k) => [
    k,
    median(opRuns.map((m) => m.get(k)?.ms ?? 0)),
    opRuns[0].get(k).calls,
  ]);
  for (const [k, t, c] of ops) console.log(`| ${k} | ${t.toFixed(1)} | ${((100 * t) / tot).toFixed(1)} % | ${c} |`);
  const sum = ops.reduce((a, r) => a + r[1], 0);
  console.log(`| (all ops) | ${sum.toFixed(1)} | ${((100 * sum) / tot).toFixed(1)} % | |`);
}

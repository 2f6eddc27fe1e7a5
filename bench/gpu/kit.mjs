// The Node half of the GPU kit (bench/gpu/README.md): bundled by pack.sh with esbuild into the kit's app/kit.mjs
// and run there by run.sh, one part per process so that each part has its own time limit. Every part prints one
// JSON line (the last line of stdout) that run.sh collects; `report` turns the collected lines into markdown.
//   kit.mjs adapter
//   kit.mjs train  --backend webgpu|wasm --arch fashion-cnn --batch 100 --steps 10 --reps 3
//   kit.mjs onnx   --arch fashion-cnn --out dir          (random-init network -> .h5 -> our converter -> .onnx)
//   kit.mjs infer  --ep webgpu|cpu --model m.onnx --batches 1,32,256 --seconds 2
//   kit.mjs report --in results.jsonl --out gpu.md
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requestGpuAdapter, describeAdapter } from '@semembed/gpu';
import * as trainer from '@semembed/trainer';
import { convertKeras } from '@semembed/converter';
import { createSession } from '@semembed/runtime-node';
import { report } from './report.mjs';

import { SHAPES, benchFitOptions, benchModel, benchSchedule, randomFloats as randomInputs } from '../trainer/setup.mjs';

const { selectBackend, fit, writeKerasH5, modelWeights, splitFromDataset } = trainer;
const [cmd, ...rest] = process.argv.slice(2);
const arg = (name, def) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : def;
};
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const emit = (o) => console.log(JSON.stringify({ part: cmd, ...o }));

// Random images through the datasets package's own batching and normalisation (as real training reads them).
function synthetic(shape, n) {
  const images = Uint8Array.from(randomInputs(n * shape[0] * shape[1] * shape[2]), (v) => Math.floor((v + 0.5) * 255));
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  const c = shape[2];
  return splitFromDataset({
    name: 'random',
    split: 'train',
    images,
    labels,
    shape,
    inputShape: shape,
    numClasses: 10,
    mean: Array(c).fill(127.5),
    std: Array(c).fill(64),
    colorMode: c === 1 ? 'gray' : 'rgb',
    augmentation: { kind: 'keras', horizontalFlip: false, widthShift: 0, heightShift: 0, zoom: null },
    stdEpsilon: 0,
  });
}

// The step of bench/trainer/setup.mjs (shared with throughput.mjs): inv_corr loss, SGD momentum 0.9, clipnorm 10, BN
// in training mode; the images go through the datasets package's batching and normalisation.
async function train() {
  const backend = arg('backend', 'webgpu');
  const arch = arg('arch', 'fashion-cnn');
  const batch = Number(arg('batch', 100));
  const steps = Number(arg('steps', 10));
  const reps = Number(arg('reps', 3));
  const sel = await selectBackend(backend);
  const { tf } = sel;
  const { model } = await benchModel(tf, arch);
  const common = benchFitOptions(trainer, tf, model, batch);
  const schedule = (n) => benchSchedule(trainer, n);
  const w0 = performance.now();
  await fit({ ...common, train: synthetic(SHAPES[arch], batch * 2), schedule: schedule(2) });
  const warmupS = (performance.now() - w0) / 1000;
  const runs = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    // fit() reads the loss back every step, so the GPU queue is drained inside the timed region.
    await fit({ ...common, train: synthetic(SHAPES[arch], batch * steps), schedule: schedule(steps) });
    runs.push((batch * steps) / ((performance.now() - t0) / 1000));
  }
  emit({
    arch,
    backend: sel.name,
    adapter: sel.adapter ? describeAdapter(sel.adapter) : undefined,
    batch,
    steps,
    warmup_s: warmupS,
    img_per_s: median(runs),
    runs,
  });
}

async function onnx() {
  const arch = arg('arch', 'fashion-cnn');
  const out = arg('out', '.');
  mkdirSync(out, { recursive: true });
  const { tf } = await selectBackend('cpu');
  const { cfg, model } = await benchModel(tf, arch);
  const h5 = path.join(out, `${arch}.h5`);
  await writeKerasH5(h5, { modelConfig: cfg, layers: await modelWeights(model) });
  const res = await convertKeras({ h5, out: path.join(out, `${arch}.onnx`) });
  emit({ arch, onnx: res.onnxPath, nodes: res.nodes });
}

async function infer() {
  const ep = arg('ep', 'webgpu');
  const file = arg('model');
  const arch = arg('arch', path.basename(file, '.onnx'));
  const seconds = Number(arg('seconds', 2));
  const threads = arg('threads') ? Number(arg('threads')) : undefined;
  const { session, report: rep } = await createSession(file, { ep, threads });
  const ort = await import('onnxruntime-node');
  const name = session.inputNames[0];
  const shape = SHAPES[arch];
  const rows = [];
  for (const b of arg('batches', '1,32,256').split(',').map(Number)) {
    const n = b * shape[0] * shape[1] * shape[2];
    const sets = [0, 1, 2].map((k) => new ort.Tensor('float32', randomInputs(n, k + 7), [b, ...shape]));
    for (let i = 0; i < 3; i++) await session.run({ [name]: sets[i % 3] });
    const times = [];
    const t0 = performance.now();
    // At least 5 runs, then until `seconds` have passed; rotate among three input sets.
    while (times.length < 5 || performance.now() - t0 < seconds * 1000) {
      const s = performance.now();
      const o = await session.run({ [name]: sets[times.length % 3] });
      for (const t of Object.values(o)) await t.getData?.();
      times.push(performance.now() - s);
    }
    rows.push({ batch: b, runs: times.length, median_ms: median(times), img_per_s: (1000 * b) / median(times) });
  }
  emit({ arch, ep: rep.chosen, adapter: rep.adapter ? describeAdapter(rep.adapter) : undefined, threads, rows });
}

async function adapter() {
  const { report: r } = await requestGpuAdapter('high-performance');
  const cpu = os.cpus()[0]?.model;
  emit({ adapter: r, line: describeAdapter(r), cpus: os.cpus().length, cpu, node: process.version });
}

const parts = { adapter, train, onnx, infer, report: () => report(arg('in'), arg('out')) };
if (!parts[cmd]) {
  console.error(`kit.mjs: unknown part '${cmd}'; known: ${Object.keys(parts).join(', ')}`);
  process.exit(2);
}
parts[cmd]().then(
  () => process.exit(0),
  (err) => {
    console.error(`kit.mjs ${cmd}: ${err?.message ?? err}`);
    emit({ error: String(err?.message ?? err).split('\n')[0] });
    process.exit(1);
  },
);

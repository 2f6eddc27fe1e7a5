// Runtime benchmark of the default Fashion-MNIST model and resnet-110-wfc (CIFAR size) over every runtime
// available here, through @semembed/benchmark (the library behind `semembed benchmark`). Writes
// bench/results/benchmark-<model>.md (+ benchmark-plots/<model>/ with result.json and the plots). Needs `npm run build`.
//   node bench/runtime-node/bench.mjs [--models fashion,resnet-110-wfc,resnet-50] [--quick] [--webgpu: also WebGPU in Node]
// The Fashion-MNIST model: runs/fashion-mnist/semantic/model.h5 when the main job made one, else a 1-epoch run of
// the same pipeline into bench/results/tmp/benchmark/fashion-1ep (`semembed pipeline --epochs 1 --no-baseline`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OUT, prepare } from './prepare.mjs';
import { RESULTS, arg, benchSection, writeResults } from './suite.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const MODELS = arg('models', 'fashion,resnet-110-wfc').split(',');
const QUICK = process.argv.includes('--quick');
const WEBGPU = process.argv.includes('--webgpu');
const HIERARCHY = join(ROOT, 'hierarchies/fashion-mnist/fashion-mnist.parent-child.txt');
const ALL_NODE = [
  'ort-node-cpu',
  'ort-node-cpu-1',
  'ort-node-webgpu',
  'ort-node-cuda',
  'ort-web-node-wasm',
  'tfjs-wasm',
  'tfjs-cpu',
  'tfjs-webgpu',
  'tfjs-tensorflow',
  'tfjs-tensorflow-gpu',
  'server',
];
const BROWSER = ['chromium-wasm-1', 'chromium-wasm', 'chromium-webgpu'];
// Shorter than the CLI's defaults so the whole file runs in minutes on the shared 2-core machine.
const LIMITS = {
  repeats: 3,
  warmups: 3,
  queries: 30,
  maxSecondsPerRepeat: 6,
  minBatches: 3,
  offlineSeconds: 0.7,
  serverSeconds: 1.5,
  serverLevels: 5,
};

function fashionModel() {
  const trained = join(ROOT, 'runs/fashion-mnist/semantic/model.h5');
  if (existsSync(trained)) return { h5: trained, how: 'trained by the main job (`npm start`)' };
  const out = join(RESULTS, 'tmp/benchmark/fashion-1ep');
  const h5 = join(out, 'semantic/model.h5');
  if (!existsSync(h5)) {
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'tools/cli/bin/semembed.js'),
        'pipeline',
        '--out',
        out,
        '--epochs',
        '1',
        '--no-baseline',
        '--no_progress',
      ],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) throw new Error('the 1-epoch pipeline run failed');
  }
  return {
    h5,
    how: 'trained for 1 epoch by `semembed pipeline --epochs 1 --no-baseline` (fashion-cnn, unitsphere embedding + softmax head)',
  };
}

// One file per model (bench/results/benchmark-<model>.md), written as soon as it is done, so each can be rerun alone.
function write(name, section) {
  writeResults(
    `benchmark-${name}.md`,
    `# \`semembed benchmark\`: ${name}\n\n` +
      `\`node bench/runtime-node/bench.mjs --models ${name}${QUICK ? ' --quick' : ''}\` (@semembed/benchmark; the same figures as ` +
      '`semembed benchmark MODEL --report DIR`). The machine is shared with 7 other helper agents working at the same time: ' +
      'load averages are given per model, numbers are medians of repeats and noisy; the accuracy columns do not depend on load.',
    [section],
  );
}

for (const name of MODELS) {
  if (name === 'fashion') {
    const m = fashionModel();
    write(
      'fashion',
      await benchSection(
        'fashion',
        'Default Fashion-MNIST model (fashion-cnn, 28×28×1)',
        `Model ${m.how}; given as the \`.h5\`, converted on the fly by @semembed/converter, TF.js runs the same file. ` +
          "Labelled accuracy: the first 1,000 Fashion-MNIST test images, mAHP@250 with the repository's Fashion-MNIST taxonomy " +
          '(preprocessing and classes from the sidecar beside the `.h5`). WebGPU in Node (ORT and TF.js, SwiftShader here) ' +
          'takes 5–13 minutes per runtime on this machine and is left out unless `--webgpu`; an earlier full run ' +
          '(2026-12-01, load ~20) had ORT node WebGPU at 3.4 img/s and TF.js webgpu at 0.58 img/s (batch 1), both within ' +
          '7.2e-7 of ORT CPU.',
        {
          model: m.h5,
          runtimes: [...ALL_NODE.filter((r) => WEBGPU || !['ort-node-webgpu', 'tfjs-webgpu'].includes(r)), ...BROWSER],
          batches: [1, 8, 32],
          quick: QUICK,
          limits: QUICK ? {} : LIMITS,
          data: { dataset: 'FashionMNIST', hierarchy: HIERARCHY, limit: 1000 },
        },
      ),
    );
  } else if (name === 'resnet-110-wfc') {
    const h5 = join(OUT, 'resnet-110-wfc.h5');
    if (!existsSync(h5)) await prepare('resnet-110-wfc');
    // ~5 s per image on TF.js cpu and tens of seconds per image on WebGPU over SwiftShader: left out here.
    const runtimes = ALL_NODE.filter((r) => r !== 'tfjs-cpu' && r !== 'ort-node-webgpu').concat([
      'chromium-wasm-1',
      'chromium-wasm',
    ]);
    write(
      'resnet-110-wfc',
      await benchSection(
        'resnet-110-wfc',
        'resnet-110-wfc (CIFAR-100 architecture, 32×32×3)',
        'Random weights and random BatchNorm statistics (`bench/runtime-node/prepare.mjs`: built with @semembed/architectures, ' +
          'saved by @semembed/trainer), so only the parity columns mean anything for accuracy. TF.js cpu (~5 s per image) and ' +
          'WebGPU in Node and Chromium (SwiftShader here, tens of seconds per image) are left out; batches 1 and 8, 2 repeats.',
        {
          model: h5,
          runtimes,
          batches: [1, 8],
          quick: QUICK,
          limits: QUICK
            ? {}
            : { ...LIMITS, repeats: 2, minBatches: 1, offlineSeconds: 1.5, queries: 20, serverSeconds: 2 },
        },
      ),
    );
  } else if (name === 'resnet-50') {
    const h5 = join(OUT, 'resnet-50.h5');
    if (!existsSync(h5)) await prepare('resnet-50');
    write(
      'resnet-50',
      await benchSection(
        'resnet-50',
        'ResNet-50 (224×224×3, 1000-d embedding + 1000 classes)',
        'Random weights and random BatchNorm statistics (`bench/runtime-node/prepare.mjs`), so only the parity columns mean ' +
          'anything for accuracy. TF.js cpu and WebGPU over SwiftShader are left out (minutes per image here); batches 1 and 8.',
        {
          model: h5,
          runtimes: [
            'ort-node-cpu',
            'ort-node-cpu-1',
            'ort-node-cuda',
            'ort-web-node-wasm',
            'tfjs-wasm',
            'server',
            'chromium-wasm',
          ],
          batches: [1, 8],
          quick: QUICK,
          limits: QUICK
            ? {}
            : {
                ...LIMITS,
                repeats: 2,
                warmups: 1,
                minBatches: 1,
                offlineSeconds: 2,
                queries: 10,
                serverSeconds: 3,
                serverLevels: 3,
              },
        },
      ),
    );
  } else {
    throw new Error(`--models: unknown model ${name} (fashion, resnet-110-wfc, resnet-50)`);
  }
}

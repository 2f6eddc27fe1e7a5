// Data pipeline throughput of @semembed/datasets, beside the reference's Python pipeline on the same machine.
// Run after building: node bench/datasets/batching.mjs [runs]   (writes nothing; prints a markdown table)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { batches, loadDatasetSplits, memoryDataset, Rng, FASHION_MNIST_ROOT } from '@semembed/datasets';

const runs = Number(process.argv[2] ?? 5);
const PY = '/usr/bin/python3';
const here = fileURLToPath(new URL('.', import.meta.url));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const rows = [];

function synthetic(n, shape, zoom) {
  const rng = new Rng(0);
  const images = new Uint8Array(n * shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < images.length; i++) images[i] = rng.u32() & 255;
  return memoryDataset(images, shape, {
    name: 'synthetic',
    mean: [127.5, 127.5, 127.5].slice(0, shape[2]),
    std: [73.6, 73.6, 73.6].slice(0, shape[2]),
    colorMode: 'rgb',
    stdEpsilon: 1e-6,
    augmentation: {
      kind: 'keras',
      horizontalFlip: true,
      widthShift: 0.15,
      heightShift: 0.15,
      zoom: zoom ? [0.75, 1.25] : null,
    },
  });
}

function imgPerSec(ds, augment) {
  const t = performance.now();
  let n = 0;
  for (const b of batches(ds, { batchSize: 100, shuffle: true, seed: 1, augment })) n += b.size;
  return (n / (performance.now() - t)) * 1000;
}

function python(...args) {
  return Number(execFileSync(PY, [join(here, 'reference_pipeline.py'), ...args], { encoding: 'utf8' }).trim());
}

const hasPy = existsSync(PY);
const cases = [
  ['CIFAR-size 32x32x3, no augmentation', synthetic(50000, [32, 32, 3], false), false, null],
  [
    'CIFAR-100 augmentation (shift 15% + flip)',
    synthetic(50000, [32, 32, 3], false),
    true,
    ['augment', '3000', '32', '32', '3', '0'],
  ],
  [
    'CIFAR-10 augmentation (shift + zoom + flip)',
    synthetic(50000, [32, 32, 3], true),
    true,
    ['augment', '3000', '32', '32', '3', '1'],
  ],
];
if (existsSync(join(FASHION_MNIST_ROOT, 'train-images-idx3-ubyte.gz'))) {
  const t = performance.now();
  const { train } = await loadDatasetSplits('FashionMNIST');
  rows.push([
    'Fashion-MNIST load (both splits, gunzip + IDX + stats)',
    `${((performance.now() - t) / 1000).toFixed(2)} s`,
    '',
    '1 run',
  ]);
  cases.push(['Fashion-MNIST 28x28x1, no augmentation', train, false, null]);
  cases.push(['Fashion-MNIST augmentation (shift + flip)', train, true, ['augment', '3000', '28', '28', '1', '0']]);
}
for (const [label, ds, augment, py] of cases) {
  const ours = [];
  const ref = [];
  for (let r = 0; r < runs; r++) {
    ours.push(imgPerSec(ds, augment));
    if (py && hasPy) ref.push(python(...py));
  }
  rows.push([
    label,
    `${Math.round(median(ours))} img/s`,
    ref.length ? `${Math.round(median(ref))} img/s` : '',
    `${runs} runs`,
  ]);
}

const LAYOUT_NAMES = {
  bin: 'binary',
  py2: 'python (py2-style pickle)',
  py3: 'python (py3 protocol-2 pickle)',
};

if (hasPy) {
  const dir = mkdtempSync(join(tmpdir(), 'semembed-cifar-bench-'));
  try {
    execFileSync(PY, [join(here, 'reference_pipeline.py'), 'make-cifar', dir, '50000', '10000']);
    for (const layout of ['py2', 'py3', 'bin']) {
      const ours = [];
      const ref = [];
      for (let r = 0; r < Math.min(runs, 3); r++) {
        const t = performance.now();
        await loadDatasetSplits('CIFAR-100', { dataRoot: join(dir, layout) });
        ours.push((performance.now() - t) / 1000);
        if (layout !== 'bin') ref.push(python('load-cifar', join(dir, layout)));
      }
      rows.push([
        `CIFAR-100 full-size load, ${LAYOUT_NAMES[layout]} (50000 + 10000, incl. stats)`,
        `${median(ours).toFixed(2)} s`,
        ref.length ? `${median(ref).toFixed(2)} s` : '',
        `${ours.length} runs`,
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `machine: ${cpus().length} x ${cpus()[0].model}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (shared with other agents), node ${process.version}`,
);
console.log('| case | @semembed/datasets (median) | reference pipeline, Python numpy/scipy (median) | runs |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

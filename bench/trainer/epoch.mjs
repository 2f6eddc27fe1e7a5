// The main job's semantic training (tools/cli/src/pipeline/run.ts trainStep's options: fashion-cnn, inv_corr,
// --cls_weight 0.1, one SGDR cycle, batch 100, wasm, --workers auto, seed 0), short, timed from outside train():
// the whole train() call (data, model, epochs with their validation, final test pass, .h5 + features), the
// epochs' own seconds (EpochLog.seconds: the batches, not the validation) and what is left (validation, setup,
// final evaluation, saving). Each build runs in its own process, interleaved rep by rep; `uptime` before and
// after says the load. Every build must give the same numbers: the logs (every digit), the test metrics and
// sha256 of the model.h5 weights and of features.npy are compared across builds and runs.
// Usage: node bench/trainer/epoch.mjs [--epochs 2] [--reps 3] [--builds new,OLD_ROOT]
//   new = this checkout; OLD_ROOT = a folder with packages/{trainer,datasets} of another commit (built, with
//   trainer/native/build) and a node_modules whose @semembed/{trainer,datasets} point there (the rest symlinked
//   to this checkout's): see bench/results/pipeline.md "The main job's time outside the step".
import { execSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};

if (process.argv[2] === '--child') {
  // One training in this process: prints one JSON line.
  const [, , , root, out, epochs] = process.argv;
  const entry =
    root === 'new' ? '@semembed/trainer' : pathToFileURL(path.join(root, 'packages/trainer/dist/index.js')).href;
  const { train, readKerasH5 } = await import(entry);
  const embedding = path.join(out, 'class-embedding.json');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const res = await train({
    dataset: 'FashionMNIST',
    embedding,
    architecture: 'fashion-cnn',
    loss: 'inv_corr',
    clsWeight: 0.1,
    epochs: Number(epochs),
    lrSchedule: 'SGDR',
    sgdrBaseLen: Number(epochs),
    batchSize: 100,
    modelDump: path.join(out, 'model.h5'),
    featureDump: path.join(out, 'features.npy'),
    seed: 0,
    backend: 'wasm',
    workers: 'auto',
    onLog: () => {},
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const h5 = await readKerasH5(path.join(out, 'model.h5'));
  const weights = crypto.createHash('sha256');
  for (const l of h5.layers)
    for (const w of l.weights)
      weights.update(w.name).update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  const features = crypto
    .createHash('sha256')
    .update(fs.readFileSync(path.join(out, 'features.npy')))
    .digest('hex');
  const numbers = JSON.stringify({
    logs: res.logs.map(({ seconds, imgPerSec, valSeconds, ...l }) => l),
    test: res.test,
  });
  console.log(
    JSON.stringify({
      wall,
      cpu: (cpu.user + cpu.system) / 1e6,
      epochs: res.logs.map((l) => l.seconds),
      // null for builds whose EpochLog has no valSeconds (before the validation was timed)
      val: res.logs.map((l) => l.valSeconds ?? null),
      same: crypto.createHash('sha256').update(numbers).update(weights.digest('hex')).update(features).digest('hex'),
      numbers,
    }),
  );
  process.exit(0);
}

const epochs = Number(arg('epochs', 2));
const reps = Number(arg('reps', 3));
const builds = arg('builds', 'new').split(',');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'semembed-epoch-'));
// The pipeline's class embedding (unitsphere on the repository's Fashion-MNIST taxonomy).
const repo = path.resolve(here, '../..');
execSync(
  `node ${path.join(repo, 'tools/cli/bin/semembed.js')} compute-class-embedding --hierarchy ` +
    `${path.join(repo, 'hierarchies/fashion-mnist/fashion-mnist.parent-child.txt')} --out ${path.join(out, 'class-embedding.json')} --method unitsphere`,
  { stdio: 'ignore' },
);
const uptime = () => execSync('uptime').toString().trim();
console.log(
  `# ${os.cpus()[0].model} x ${os.cpus().length}; ${epochs} epochs x ${reps} reps; builds ${builds.join(', ')}`,
);
console.log(`uptime before: ${uptime()}`);
const runs = new Map(builds.map((b) => [b, []]));
for (let r = 0; r < reps; r++) {
  for (const b of builds) {
    const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', b, out, String(epochs)], {
      encoding: 'utf8',
      cwd: repo,
    });
    if (p.status !== 0) throw new Error(`${b}: exit ${p.status}\n${p.stderr}`);
    const res = JSON.parse(p.stdout.trim().split('\n').pop());
    runs.get(b).push(res);
    const ep = res.epochs.reduce((a, s) => a + s, 0);
    console.log(
      `rep ${r + 1} ${b}: train() ${res.wall.toFixed(1)} s (${res.cpu.toFixed(0)} CPU-s), epochs ${res.epochs.map((s) => s.toFixed(1)).join(' + ')} s, ` +
        `outside the epochs ${(res.wall - ep).toFixed(1)} s (validations ${res.val.map((s) => (s === null ? '–' : s.toFixed(1))).join(' + ')} s); ${res.same.slice(0, 12)}`,
    );
  }
}
console.log(`uptime after: ${uptime()}`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(
  '\n| build | train() median s | epoch median s | validation median s | outside the epochs median s | CPU-s median |',
);
console.log('|---|---|---|---|---|---|');
for (const [b, rs] of runs) {
  const walls = rs.map((x) => x.wall);
  const eps = rs.flatMap((x) => x.epochs);
  const outside = rs.map((x) => x.wall - x.epochs.reduce((a, s) => a + s, 0));
  const vals = rs.flatMap((x) => x.val).filter((s) => s !== null);
  console.log(
    `| ${b} | ${median(walls).toFixed(1)} | ${median(eps).toFixed(2)} | ${vals.length ? median(vals).toFixed(2) : '–'} | ` +
      `${median(outside).toFixed(1)} | ${median(rs.map((x) => x.cpu)).toFixed(0)} |`,
  );
}
const hashes = new Set([...runs.values()].flat().map((x) => x.same));
console.log(
  hashes.size === 1
    ? '\nEvery run gave the same logs, test metrics, model.h5 weights and features (sha256).'
    : `\nDIFFERENT results across runs: ${[...hashes].join(', ')}`,
);
fs.rmSync(out, { recursive: true, force: true });

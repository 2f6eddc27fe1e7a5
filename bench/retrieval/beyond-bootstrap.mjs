// beyondReport alone on a main-job run folder (its features, probabilities and labels), two builds of
// @semembed/retrieval interleaved in one process: a baseline dist (e.g. built from an older commit by
// beyond-bootstrap.sh) and the current one. Both get the same inputs; their JSON must be identical.
// usage: node bench/retrieval/beyond-bootstrap.mjs <run dir> <baseline dist dir> <current dist dir> [reps]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as formats from '@semembed/formats';
import * as hier from '@semembed/hierarchy';

const [runDir, baseDist, curDist, repsArg] = process.argv.slice(2);
if (!runDir || !baseDist || !curDist) {
  console.error('usage: node bench/retrieval/beyond-bootstrap.mjs <run dir> <baseline dist> <current dist> [reps]');
  process.exit(2);
}
const reps = Number(repsArg ?? 3);
const load = (d) => import(pathToFileURL(join(resolve(d), 'index.js')).href);
const builds = [
  ['baseline', await load(baseDist)],
  ['current', await load(curDist)],
];
const cur = builds[1][1];

const metrics = JSON.parse(readFileSync(join(runDir, 'report/metrics.json'), 'utf8'));
const hierarchy = hier.readHierarchy(metrics.hierarchy ?? 'hierarchies/fashion-mnist/fashion-mnist.parent-child.txt');
const classes = hierarchy.leaves();
const labels = Int32Array.from(formats.readNpy(join(runDir, 'test-labels.npy')).data, (v) => Number(v));
const sims = {
  WUP: hierarchy.similarityMatrix(classes, 'WUP'),
  LCS_HEIGHT: hierarchy.similarityMatrix(classes, 'LCS_HEIGHT'),
};
const clip = 250;
const graded = { ks: cur.defaultGradedKs(Math.min(clip, labels.length - 1), clip), maxHeight: hierarchy.maxHeight };
const sets = [];
for (const [label, which] of [
  ['semantic (unitsphere)', 'semantic'],
  ['baseline (softmax)', 'baseline'],
]) {
  const f = formats.readNpy(join(runDir, which, 'test-features.npy'));
  const retrieval = cur.evaluateRetrieval(f.data, f.shape[1], labels, sims, {
    ks: [1],
    computeAhp: clip,
    computeAp: true,
    normalize: true,
    engine: 'auto',
    graded,
  });
  const p = formats.readNpy(join(runDir, which, 'test-prob.npy'));
  sets.push({ label, retrieval, probs: { data: p.data, dim: p.shape[1] } });
}
const input = (outDir) => ({
  sets,
  labels,
  sims,
  maxHeight: hierarchy.maxHeight,
  clip,
  bootstrap: { resamples: 1000, seed: 0 },
  outDir,
});

// numbers compared with Object.is (NaN, -0), everything else structurally
function same(a, b) {
  if (typeof a === 'number') return typeof b === 'number' && Object.is(a, b);
  if (typeof a !== 'object' || a === null) return a === b;
  const ka = Object.keys(a),
    kb = Object.keys(b ?? {});
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(a[k], b[k]));
}

const times = { baseline: [], current: [] },
  cpu = { baseline: [], current: [] };
let ref;
for (let r = 0; r < reps; r++) {
  const order = r % 2 === 0 ? builds : [...builds].reverse();
  for (const [name, lib] of order) {
    const out = mkdtempSync(join(tmpdir(), 'beyond-bench-'));
    const t0 = performance.now(),
      c0 = process.cpuUsage();
    const res = await lib.beyondReport(input(out));
    const c = process.cpuUsage(c0);
    times[name].push((performance.now() - t0) / 1000);
    cpu[name].push((c.user + c.system) / 1e6);
    if (!ref) ref = res;
    else if (!same(ref.json, res.json) || ref.markdown !== res.markdown) {
      console.error(`beyondReport of ${name} differs from the first run`);
      process.exit(1);
    }
  }
}
const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
const runs = (v) => v.map((x) => x.toFixed(2)).join(', ');
for (const name of Object.keys(times))
  console.log(
    `beyondReport ${name}: wall median ${median(times[name]).toFixed(2)} s (${runs(times[name])}), ` +
      `CPU median ${median(cpu[name]).toFixed(2)} s (${runs(cpu[name])})`,
  );
const ratio = (t) => (median(t.baseline) / median(t.current)).toFixed(2);
console.log(`speed-up: wall ${ratio(times)}x, CPU ${ratio(cpu)}x; json and markdown identical`);

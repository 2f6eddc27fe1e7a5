// The eval-clip case of run-one.mjs (P@1..250 + AHP@250 + AP, every query against all others) through a given build
// of @semembed/retrieval, so that an earlier build (bench/retrieval/baseline.sh) is timed in the same batch.
// node bench/retrieval/compare.mjs <n> <path to dist/index.js> [threads] [engine]  -> one JSON line (CPU = evaluation
// only); SEMEMBED_RETRIEVAL_NATIVE=0 makes a build with the native kernel use its JS kernel
import { synthetic } from './run-one.mjs';
import { readHierarchy } from '@semembed/hierarchy';
const lib = await import(process.argv[3]);
const n = Number(process.argv[2]);
const { x, labels } = synthetic(n);
const h = readHierarchy('hierarchies/Cifar-Hierarchy/cifar.parent-child.txt');
const classes = h.leaves().slice(0, 100);
const sims = { WUP: h.similarityMatrix(classes, 'WUP'), LCS_HEIGHT: h.similarityMatrix(classes, 'LCS_HEIGHT') };
const ks = Array.from({ length: 250 }, (_, i) => i + 1);
const t0 = performance.now();
const c0 = process.cpuUsage();
const r = lib.evaluateRetrieval(x, 100, labels, sims, {
  ks,
  computeAhp: 250,
  computeAp: true,
  threads: Number(process.argv[4] ?? 1),
  engine: process.argv[5] ?? 'auto',
});
const cpu = process.cpuUsage(c0);
console.log(
  JSON.stringify({
    lib: process.argv[3],
    n,
    threads: r.threads ?? 1,
    engine: r.engine,
    kernel: r.kernel ?? 'js',
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    load1: (await import('node:os')).loadavg()[0],
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    mAP: r.mean.AP,
    mAHP: r.mean['AHP@250 (LCS_HEIGHT)'],
  }),
);

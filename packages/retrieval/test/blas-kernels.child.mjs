// Child process of native.test.ts ("on every OpenBLAS kernel"): runs the native = JS comparison under the
// OPENBLAS_CORETYPE / OPENBLAS_NUM_THREADS it was started with (OpenBLAS reads them once, at load, so each kernel
// needs a process of its own) and prints one JSON line: the kernel OpenBLAS reports, the first mismatch of each
// case (null = bit for bit), and whether this kernel's distances depend on the BLAS call's shape at all (one call
// for every row against calls of rowsPerBlasCall rows), which is what makes the common blocking necessary. The
// float64 case compares dgemm with the JS product, whose last bits may differ: it checks that no ranking changes.
// Plain JavaScript on the built package (dist/): vitest's TypeScript does not reach a child process. The class
// similarities come on stdin as JSON ({ WUP, LCS_HEIGHT } arrays).
import { readFileSync } from 'node:fs';
import { mulberry32 } from '@semembed/formats';
import { evaluateRetrieval, loadFaiss, loadNative } from '../dist/index.js';
import { rowsPerBlasCall } from '../dist/blas-calls.js';

const input = JSON.parse(readFileSync(0, 'utf8'));
const sims = { WUP: Float64Array.from(input.WUP), LCS_HEIGHT: Float64Array.from(input.LCS_HEIGHT) };

function features(n, dim, seed, dupes) {
  const r = mulberry32(seed);
  const x = Float32Array.from({ length: n * dim }, (_, i) => ((Math.floor(i / dim) % 100) % 9) * 0.3 + r());
  if (dupes) for (let i = 1; i < n; i += 3) x.copyWithin(i * dim, (i - 1) * dim, i * dim);
  return x;
}

function firstMismatch(a, b) {
  for (const name of a.names)
    for (let q = 0; q < a.perQuery[name].length; q++)
      if (!Object.is(a.perQuery[name][q], b.perQuery[name][q]))
        return `${name} query ${q}: js ${a.perQuery[name][q]}, native ${b.perQuery[name][q]}`;
  return JSON.stringify(a.mean) === JSON.stringify(b.mean) ? null : 'means differ';
}

const dim = 12;
const cases = {
  'L2, AHP@250': [features(1200, dim, 1200), {}],
  'normalised, duplicated rows': [features(900, dim, 900, true), { normalize: true }],
  'inner product of other queries': [features(800, dim, 800), { innerProduct: true, queries: features(800, dim, 3) }],
  'L2, 2 threads, batches of 300': [features(1100, dim, 7), { threads: 2, batchSize: 300 }],
  // dgemm against the JS float64 product: equal rankings by the data's margins, not by construction
  'float64 L2': [Float64Array.from(features(1000, dim, 11)), {}],
};
const mismatches = {};
for (const [name, [x, extra]] of Object.entries(cases)) {
  const n = x.length / dim;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 100);
  const opts = { ks: [1, 2, 10, 100], computeAhp: 250, computeAp: true, ...extra };
  const js = evaluateRetrieval(x, dim, labels, sims, { ...opts, kernel: 'js' });
  const nat = evaluateRetrieval(x, dim, labels, sims, { ...opts, kernel: 'native' });
  mismatches[name] = js.kernel === 'js' && nat.kernel === 'native' ? firstMismatch(js, nat) : 'wrong kernel';
}

const x = cases['L2, AHP@250'][0];
const index = new (loadFaiss().module.IndexFlatL2)(dim);
index.addFloat32(x);
const whole = index.distanceRows(x);
const blocked = index.distanceRows(x, new Float32Array(whole.length), rowsPerBlasCall(x.length / dim, 4));
let shapeDiffs = 0;
for (let i = 0; i < whole.length; i++) if (!Object.is(whole[i], blocked[i])) shapeDiffs++;

console.log(JSON.stringify({ blas: loadNative().kernel.blasInfo(), mismatches, shapeDiffs }));

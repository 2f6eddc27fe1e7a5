// The native kernel (BLAS + fused selection, native/) must give exactly what the JS kernel gives (FAISS distances
// or the JS float64 product, then the JS selection): every per-query value bit for bit, ties included. The
// reference fixtures (reference.test.ts) run through the native kernel by default and match the reference there.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@semembed/formats';
import { evaluateRetrieval, loadNative, RetrievalError, type EvaluateOptions } from '../src/index.js';
import { cifarSimilarities } from './helpers.js';

const { sims } = cifarSimilarities();

// Built by the install step (scripts/build-native-retrieval.sh) wherever g++, OpenBLAS and libfaiss-dev exist,
// as on this project's CI and dev machines.
describe('native kernel', () => {
  it('loads', () => {
    expect(loadNative().error).toBeUndefined();
  });
});

function features(kind: 'gauss' | 'ints' | 'dupes', n: number, dim: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  if (kind === 'ints') return Float64Array.from({ length: n * dim }, () => Math.floor(r() * 4));
  const x = Float64Array.from({ length: n * dim }, (_, i) => ((Math.floor(i / dim) % 100) % 9) * 0.3 + r());
  // exact duplicates of earlier rows: equal distances everywhere, the query tied with its twins
  if (kind === 'dupes') for (let i = 1; i < n; i += 3) x.copyWithin(i * dim, (i - 1) * dim, i * dim);
  return x;
}

function same(a: ReturnType<typeof evaluateRetrieval>, b: ReturnType<typeof evaluateRetrieval>): void {
  expect(b.names).toEqual(a.names);
  for (const name of a.names) {
    const x = a.perQuery[name],
      y = b.perQuery[name];
    for (let q = 0; q < x.length; q++)
      if (!Object.is(x[q], y[q])) expect.fail(`${name} query ${q}: js ${x[q]}, native ${y[q]}`);
  }
  expect(b.mean).toEqual(a.mean);
}

const cases: [string, 'gauss' | 'ints' | 'dupes', number, 'f32' | 'f64', Partial<EvaluateOptions>][] = [
  ['float32 L2, AHP@250', 'gauss', 1200, 'f32', { computeAhp: 250 }],
  ['float64 L2, AHP@250', 'gauss', 1200, 'f64', { computeAhp: 250 }],
  ['float32 integer features (many ties)', 'ints', 700, 'f32', { computeAhp: 250 }],
  ['float64 integer features (many ties)', 'ints', 700, 'f64', { computeAhp: 250 }],
  ['float32 duplicated rows, normalised', 'dupes', 900, 'f32', { computeAhp: 250, normalize: true }],
  ['float64 duplicated rows', 'dupes', 900, 'f64', { computeAhp: 100 }],
  ['float32 full AHP, graded', 'gauss', 500, 'f32', { computeAhp: true, graded: { ks: [5, 50], maxHeight: 8 } }],
  ['float64 full AHP, no AP', 'gauss', 400, 'f64', { computeAhp: true, computeAp: false }],
  ['float32 AHP@250, no AP', 'gauss', 700, 'f32', { computeAhp: 250, computeAp: false }],
  ['float32 inner product of other queries', 'gauss', 800, 'f32', { computeAhp: 250, innerProduct: true }],
  ['float64 graded, 3 threads, small batches', 'gauss', 1000, 'f64', { computeAhp: 250, threads: 3, batchSize: 77 }],
];

describe('native kernel = JS kernel, bit for bit', () => {
  it.each(cases)('%s', (_l, kind, n, precision, extra) => {
    const dim = kind === 'ints' ? 5 : 12;
    const x64 = features(kind, n, dim, n);
    const x = precision === 'f32' ? Float32Array.from(x64) : x64;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 100);
    const opts: EvaluateOptions = { ks: [1, 2, 10, 100], computeAhp: 250, computeAp: true, ...extra };
    if (extra.innerProduct) opts.queries = precision === 'f32' ? Float32Array.from(features('gauss', n, dim, 3)) : x;
    const js = evaluateRetrieval(x, dim, labels, sims, { ...opts, kernel: 'js' });
    const nat = evaluateRetrieval(x, dim, labels, sims, { ...opts, kernel: 'native' });
    expect([js.kernel, nat.kernel]).toEqual(['js', 'native']);
    expect(nat.precision).toBe(precision === 'f32' ? 'float32' : 'float64');
    same(js, nat);
    if (opts.computeAp) expect(nat.mean.AP).toBeGreaterThan(0.01);
  });

  it('a class of one sample (AP -0.0) and classes spanning one bucket', () => {
    const n = 300,
      dim = 3;
    const x = Float32Array.from({ length: n * dim }, (_, i) => (i < dim ? 50 : Math.floor(i / dim / 60)));
    const labels = Int32Array.from({ length: n }, (_, i) => (i === 0 ? 99 : i % 5));
    const opts: EvaluateOptions = { ks: [1, 10], computeAhp: 20, computeAp: true };
    const js = evaluateRetrieval(x, dim, labels, sims, { ...opts, kernel: 'js' });
    const nat = evaluateRetrieval(x, dim, labels, sims, { ...opts, kernel: 'native' });
    same(js, nat);
    expect(Object.is(nat.perQuery.AP[0], -0)).toBe(true);
    expect(nat.queriesWithoutPositives).toBe(1);
  });

  it('refuses an unknown kernel before any work', () => {
    const x = new Float32Array(8);
    const go = () =>
      evaluateRetrieval(x, 2, new Int32Array(4), sims, {
        ks: [1],
        computeAhp: false,
        computeAp: true,
        kernel: 'gpu' as 'js',
      });
    expect(go).toThrow(RetrievalError);
    expect(go).toThrow(/kernel must be auto, native or js, got gpu/);
  });
});

// OpenBLAS picks its kernel per CPU (AVX-512, AVX2/FMA, AVX, ...) and rounds differently per kernel and per call
// shape, so equality must hold by construction (both kernels make the same BLAS calls, src/blas-calls.ts), not by
// the luck of one machine's kernel: each case runs the comparison in a child process under a kernel this CPU can
// run (the CPU's own, Haswell = AVX2/FMA, Sandybridge = AVX) with 1 and 2 BLAS threads.
describe('native kernel = JS kernel on every OpenBLAS kernel', () => {
  const flags =
    process.arch === 'x64' ? (readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '') : '';
  const has = (f: string) => flags.split(/\s+/).includes(f);
  const cores = ['', ...(has('avx2') && has('fma') ? ['Haswell'] : []), ...(has('avx') ? ['Sandybridge'] : [])];
  const runs = cores.flatMap((core) => [1, 2].map((threads) => [core || "the CPU's own", threads, core] as const));
  const input = JSON.stringify({ WUP: Array.from(sims.WUP), LCS_HEIGHT: Array.from(sims.LCS_HEIGHT) });
  it.each(runs)(
    '%s, %i BLAS threads',
    (_l, threads, core) => {
      const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
      delete env.OPENBLAS_CORETYPE;
      if (core) env.OPENBLAS_CORETYPE = core;
      const child = spawnSync(process.execPath, [new URL('./blas-kernels.child.mjs', import.meta.url).pathname], {
        input,
        env,
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const out = JSON.parse(child.stdout) as {
        blas: { core: string; threads: number };
        mismatches: Record<string, string | null>;
        shapeDiffs: number;
      };
      // the kernel asked for is the one that ran
      if (core) expect(out.blas.core.toLowerCase()).toBe(core.toLowerCase());
      expect(out.blas.threads).toBe(threads);
      expect(Object.keys(out.mismatches)).toHaveLength(5);
      for (const [name, mismatch] of Object.entries(out.mismatches)) expect(mismatch, name).toBeNull();
      // AVX2's kernel does round by call shape: these cases would catch kernels that made different calls
      if (core === 'Haswell') expect(out.shapeDiffs).toBeGreaterThan(0);
    },
    120_000,
  );
});

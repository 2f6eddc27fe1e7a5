// Helper threads change nothing: every per-query value is identical for 1 and 3 threads, float32 and float64,
// with the JS kernel's worker_threads and with the native kernel's std::threads.
import { describe, expect, it } from 'vitest';
import { evaluateRetrieval } from '../src/index.js';
import { cifarSimilarities } from './helpers.js';

const { sims } = cifarSimilarities();

describe.each(['js', 'native'] as const)('evaluateRetrieval with helper threads (%s kernel)', (kernel) => {
  let s = 9;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const n = 1500,
    dim = 8;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 100);
  const x = Float64Array.from({ length: n * dim }, (_, i) => ((Math.floor(i / dim) % 100) % 7) * 0.2 + rnd());
  const base = { ks: [1, 10, 100], computeAp: true, graded: { ks: [10], maxHeight: 8 }, batchSize: 128, kernel };
  it.each([
    ['float32 / FAISS, AHP@250', Float32Array.from(x), 250],
    ['float64 / exact, AHP@250', x, 250],
    ['float32, AHP over the whole ranking', Float32Array.from(x), true],
  ] as const)('%s', (_l, feats, computeAhp) => {
    const one = evaluateRetrieval(feats, dim, labels, sims, { ...base, computeAhp, threads: 1 });
    const three = evaluateRetrieval(feats, dim, labels, sims, { ...base, computeAhp, threads: 3 });
    expect([three.threads, three.kernel]).toEqual([3, kernel]);
    expect(three.names).toEqual(one.names);
    for (const name of one.names) expect(three.perQuery[name], name).toEqual(one.perQuery[name]);
    expect(three.mean).toEqual(one.mean);
    expect(one.mean['nDCG@10 (LCS_HEIGHT)']).toBeGreaterThan(0);
  });
});

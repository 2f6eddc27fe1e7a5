// nDCG@k (class similarity as gain) and LCS height@k of retrieval: a hand computation and numpy on random rankings.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { evaluateRankings, evaluateRetrieval } from '../src/index.js';

const L = [0, 1, 2, 2, 1, 0, 2, 2, 2, 2, 0, 1, 2, 2, 1, 0];
const S = Float64Array.from(L, (h) => 1.0 - h / 2);
const sims = { WUP: S, LCS_HEIGHT: S };
const base = { ks: [1], computeAhp: false as const, computeAp: false };

describe('graded retrieval metrics', () => {
  it('match a hand computation', () => {
    const labels = Int32Array.from([0, 0, 1, 2]);
    const rankings = [
      [0, 2, 3, 1],
      [1, 0, 2, 3],
      [2, 0, 1, 3],
      [3, 2, 0, 1],
    ];
    const r = evaluateRankings(rankings, labels, sims, { ...base, graded: { ks: [1, 2, 3], maxHeight: 2 } });
    // query 0 (class a1) retrieves a2 (gain .5, height 1), b1 (0, 2), a1 (1, 0); ideal gains 1, .5, 0
    const idcg = 1 + 0.5 / Math.log2(3);
    expect(r.perQuery['nDCG@1 (LCS_HEIGHT)'][0]).toBe(0.5);
    expect(r.perQuery['nDCG@2 (LCS_HEIGHT)'][0]).toBeCloseTo(0.5 / idcg, 15);
    expect(r.perQuery['nDCG@3 (LCS_HEIGHT)'][0]).toBeCloseTo(1 / idcg, 15);
    expect(r.perQuery['LCS height@1'][0]).toBe(1);
    expect(r.perQuery['LCS height@2'][0]).toBe(1.5);
    expect(r.perQuery['LCS height@3'][0]).toBe(1);
    // query 1 retrieves the other a1 first: perfect
    expect(r.perQuery['nDCG@3 (LCS_HEIGHT)'][1]).toBeCloseTo(1, 15);
    expect(r.names.slice(-6)).toEqual([
      'nDCG@1 (LCS_HEIGHT)',
      'nDCG@2 (LCS_HEIGHT)',
      'nDCG@3 (LCS_HEIGHT)',
      'LCS height@1',
      'LCS height@2',
      'LCS height@3',
    ]);
  });

  it('the search path gives what the rankings path gives, and numpy agrees', () => {
    let s = 11;
    const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const n = 60,
      dim = 3;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
    const x = Float64Array.from({ length: n * dim }, (_, i) => (Math.floor(i / dim) % 4) * 0.3 + rnd());
    const graded = { ks: [5, 20], maxHeight: 2 };
    const res = evaluateRetrieval(x, dim, labels, sims, { ...base, graded, engine: 'exact' });
    const rank = [] as number[][];
    for (let q = 0; q < n; q++) {
      const d = Array.from({ length: n }, (_, j) => {
        let t = 0;
        for (let c = 0; c < dim; c++) t += (x[q * dim + c] - x[j * dim + c]) ** 2;
        return t;
      });
      rank.push(Array.from({ length: n }, (_, j) => j).sort((a, b) => d[a] - d[b] || a - b));
    }
    const py = `
import json, sys, numpy as np
d = json.load(sys.stdin); S = np.array(d['S']).reshape(4, 4); lab = np.array(d['labels'])
out = {}
for k in (5, 20):
  nd, hh = [], []
  for q, r in enumerate(d['rank']):
    r = [i for i in r if i != q]
    g = S[lab[q], lab[r]]
    disc = 1 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(g)[::-1]
    nd.append((g[:k] * disc).sum() / (ideal[:k] * disc).sum())
    hh.append(np.mean(np.rint((1 - g[:k]) * 2)))
  out[k] = [float(np.mean(nd)), float(np.mean(hh))]
print(json.dumps(out))`;
    const ref = JSON.parse(
      execFileSync('python3', ['-c', py], {
        input: JSON.stringify({ S: Array.from(S), labels: Array.from(labels), rank }),
      }).toString(),
    );
    const again = evaluateRankings(rank, labels, sims, { ...base, graded });
    for (const k of [5, 20]) {
      expect(res.mean[`nDCG@${k} (LCS_HEIGHT)`]).toBeCloseTo(ref[k][0], 12);
      expect(res.mean[`LCS height@${k}`]).toBeCloseTo(ref[k][1], 12);
      expect(again.mean[`nDCG@${k} (LCS_HEIGHT)`]).toBe(res.mean[`nDCG@${k} (LCS_HEIGHT)`]);
    }
  });
});

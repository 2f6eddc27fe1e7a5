// Mistake severity, hierarchical distance @k and CRM (Bertinetto et al. 2020; Karthik et al. 2021): hand
// computations on a 4-leaf tree, and numpy's evaluation of the same definitions on random softmax outputs.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { crmRank, expectedSimilarityQueries, lcsLevels, mistakeMetrics, rankClasses } from '../src/index.js';

// root (height 2) -> A -> {a1, a2}, B -> {b1, b2}; columns a1 a2 b1 b2
const L = Int32Array.from([0, 1, 2, 2, 1, 0, 2, 2, 2, 2, 0, 1, 2, 2, 1, 0]);

describe('mistake metrics', () => {
  it('match a hand computation', () => {
    const ranked = Int32Array.from([0, 1, 2, 1, 0, 3, 0, 3, 2, 3, 2, 1]);
    const truth = Int32Array.from([0, 0, 2, 3]);
    const r = mistakeMetrics(ranked, 3, truth, L, [1, 3]);
    expect(r.names).toEqual(['Top-1 Error', 'Mistake Severity', 'Hier. Distance@1', 'Hier. Distance@3']);
    expect(r.mean['Top-1 Error']).toBe(0.5);
    expect(r.mean['Mistake Severity']).toBe(1.5); // (1 + 2) / 2 mistakes
    expect(r.mean['Hier. Distance@1']).toBe(0.75); // (0 + 1 + 2 + 0) / 4
    expect(r.mean['Hier. Distance@3']).toBe(1);
    expect(Array.from(r.perSample['Mistake Severity'].den!)).toEqual([0, 1, 1, 0]);
  });

  it('no mistakes: severity is NaN (undefined), error 0', () => {
    const r = mistakeMetrics(Int32Array.from([0, 1]), 1, Int32Array.from([0, 1]), L, [1]);
    expect(r.mean['Top-1 Error']).toBe(0);
    expect(r.mean['Mistake Severity']).toBeNaN();
  });

  it('integer levels from LCS_HEIGHT similarities', () => {
    expect(
      Array.from(
        lcsLevels(
          Float64Array.from(L, (h) => 1.0 - h / 2),
          2,
        ),
      ),
    ).toEqual(Array.from(L));
  });

  it('rejects k beyond the ranked predictions', () => {
    expect(() => mistakeMetrics(Int32Array.from([0]), 1, Int32Array.from([0]), L, [5])).toThrow(/@5: k must be 1..1/);
  });
});

describe('CRM', () => {
  it('picks the class of least expected LCS height (hand computation)', () => {
    // costs: a1 1.2, a2 1.6, b1 1.05, b2 1.15 -> b1 b2 a1 a2, while the argmax is a1
    const p = Float64Array.from([0.4, 0.0, 0.35, 0.25]);
    expect(Array.from(crmRank(p, 4, L, 4).ranked)).toEqual([2, 3, 0, 1]);
    expect(rankClasses(p, 4, { kind: 'prob' }, 1).ranked[0]).toBe(0);
  });

  it('expected similarity queries are S p', () => {
    const S = Float64Array.from(L, (h) => 1 - h / 2);
    const q = expectedSimilarityQueries(Float64Array.from([0.5, 0.5, 0, 0]), 4, S);
    expect(Array.from(q)).toEqual([0.75, 0.75, 0, 0]);
  });

  it('agrees with numpy on random softmax outputs (np.dot(p, D), top-k, hdist@k, severity)', () => {
    let s = 3;
    const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const n = 200,
      C = 4;
    const prob = new Float64Array(n * C);
    for (let i = 0; i < n; i++) {
      const e = Array.from({ length: C }, () => Math.exp(3 * rnd()));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((v, c) => (prob[i * C + c] = v / z));
    }
    const truth = Int32Array.from({ length: n }, () => Math.floor(rnd() * C));
    const crm = crmRank(prob, C, L, 3);
    const ours = mistakeMetrics(crm.ranked, 3, truth, L, [1, 3]);
    const py = `
import json, sys, numpy as np
d = json.load(sys.stdin)
p = np.array(d['p']).reshape(-1, 4); D = np.array(d['L']).reshape(4, 4); t = np.array(d['t'])
cost = np.dot(p, D)
order = np.argsort(cost, axis=1, kind='stable')[:, :3]
top1 = order[:, 0]
wrong = top1 != t
print(json.dumps({'order': order.ravel().tolist(), 'err': float(wrong.mean()),
  'sev': float(D[t[wrong], top1[wrong]].mean()), 'hd1': float(D[t, top1].mean()),
  'hd3': float(np.mean([D[t[i], order[i]].mean() for i in range(len(t))]))}))`;
    const out = JSON.parse(
      execFileSync('python3', ['-c', py], {
        input: JSON.stringify({ p: Array.from(prob), L: Array.from(L), t: Array.from(truth) }),
      }).toString(),
    );
    expect(Array.from(crm.ranked)).toEqual(out.order);
    expect(ours.mean['Top-1 Error']).toBeCloseTo(out.err, 12);
    expect(ours.mean['Mistake Severity']).toBeCloseTo(out.sev, 12);
    expect(ours.mean['Hier. Distance@1']).toBeCloseTo(out.hd1, 12);
    expect(ours.mean['Hier. Distance@3']).toBeCloseTo(out.hd3, 12);
  });
});

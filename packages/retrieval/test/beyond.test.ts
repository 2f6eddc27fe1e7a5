// The report section beyond the reference: its numbers are the library's own metrics (checked elsewhere by hand
// and against numpy/scipy), assembled per set with intervals that contain them; the comparison picks the better set.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  beyondReport,
  compareSets,
  crmRank,
  evaluateRetrieval,
  formatIntervalTable,
  lcsLevels,
  mistakeMetrics,
} from '../src/index.js';
import { cifarSimilarities } from './helpers.js';

const { sims } = cifarSimilarities();
const C = 100;

function fakeSet(seed: number, noise: number, n: number, labels: Int32Array) {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const dim = 16;
  const feats = Float32Array.from({ length: n * dim }, (_, i) => {
    const l = labels[Math.floor(i / dim)],
      j = i % dim;
    return (j === l % dim ? 1 : 0) + (j === Math.floor(l / dim) ? 1 : 0) + noise * rnd();
  });
  const probs = new Float32Array(n * C);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let c = 0; c < C; c++) z += probs[i * C + c] = Math.exp((c === labels[i] ? 3 : 0) + noise * 3 * rnd());
    for (let c = 0; c < C; c++) probs[i * C + c] /= z;
  }
  return { feats, dim, probs };
}

describe('beyondReport', () => {
  it('assembles intervals around the metrics, CRM rows, paired tests and the plot', async () => {
    const n = 600;
    const labels = Int32Array.from({ length: n }, (_, i) => i % C);
    const graded = { ks: [10, 50], maxHeight: 8 };
    const mk = (label: string, seed: number, noise: number) => {
      const f = fakeSet(seed, noise, n, labels);
      const retrieval = evaluateRetrieval(f.feats, f.dim, labels, sims, {
        ks: [1, 10],
        computeAhp: 50,
        computeAp: true,
        graded,
        normalize: true,
      });
      return { label, retrieval, probs: { data: f.probs, dim: C } };
    };
    const sets = [mk('good', 1, 0.5), mk('bad', 2, 2)];
    const out = mkdtempSync(join(tmpdir(), 'beyond-'));
    const r = await beyondReport({
      sets,
      labels,
      sims,
      maxHeight: 8,
      clip: 50,
      bootstrap: { resamples: 200, seed: 1 },
      outDir: out,
    });
    expect(existsSync(join(out, 'mistake-severity.svg')) && existsSync(join(out, 'mistake-severity.png'))).toBe(true);
    const ret = r.json.retrieval as Record<string, Record<string, { estimate: number; lo: number; hi: number }>>;
    for (const name of ['AHP@50 (LCS_HEIGHT)', 'AP', 'nDCG@10 (LCS_HEIGHT)', 'LCS height@50']) {
      const v = ret.good[name];
      expect(v.estimate).toBeCloseTo(sets[0].retrieval.mean[name], 12);
      expect(v.lo).toBeLessThanOrEqual(v.estimate);
      expect(v.hi).toBeGreaterThanOrEqual(v.estimate);
    }
    const cls = r.json.classification as Record<string, Record<string, { estimate: number }>>;
    const levels = lcsLevels(sims.LCS_HEIGHT, 8);
    const crm = crmRank(sets[1].probs.data, C, levels, 20);
    const direct = mistakeMetrics(crm.ranked, crm.k, labels, levels, [1, 5, 20]);
    expect(cls['bad, softmax + CRM']['Mistake Severity'].estimate).toBeCloseTo(direct.mean['Mistake Severity'], 12);
    expect(cls['bad, softmax + CRM']['Hier. Distance@5'].estimate).toBeCloseTo(direct.mean['Hier. Distance@5'], 12);
    expect(ret['good, softmax by expected similarity']).toBeDefined();
    expect(r.markdown).toMatch(/\| good, softmax \| 0\.\d{4} \[0\.\d{4}, 0\.\d{4}\]/);
    expect(r.markdown).toMatch(/good beats bad on AP: \+0\.\d{4} \[.*\], p = /);
    const cmp = r.json.comparisons as { metric: string; better: string; p: number }[];
    expect(cmp.find((c) => c.metric === 'AP')!.better).toBe('good');
    expect(cmp.find((c) => c.metric === 'AP')!.p).toBeLessThan(0.01);
  });

  it('compareSets: lower is better for errors and heights', () => {
    const a = { label: 'a', perQuery: { 'Top-1 Error': [0, 0, 1, 0], AP: [0.2, 0.3, 0.1, 0.2] } };
    const b = { label: 'b', perQuery: { 'Top-1 Error': [1, 1, 1, 0], AP: [0.4, 0.5, 0.3, 0.4] } };
    const [err, ap] = compareSets(a, b, ['Top-1 Error', 'AP'], { resamples: 100, seed: 1 });
    expect([err.better, err.difference]).toEqual(['a', -0.5]);
    expect(ap.better).toBe('b');
    expect(ap.difference).toBeCloseTo(0.2, 12);
    expect(formatIntervalTable(new Map([['x', { AP: 0.5 }]]), ['AP'])).toContain('0.5000');
  });
});

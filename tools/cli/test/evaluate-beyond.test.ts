// Beyond the reference on the command line: the default engine keeps float64 features in float64 (reference
// metrics to 1e-12, the engine and precision printed), nDCG / LCS height with intervals and paired tests,
// --crm decisions and expected-similarity retrieval, mistake metrics recomputed here from the taxonomy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '@semembed/formats';
import {
  asIsAndNormalised,
  columnFiles,
  evaluateClassification,
  evaluateRetrieval,
  hierarchy,
  referenceCase,
} from './evaluate-inputs.js';

const { dir, feat64, labelsTxt, refRun } = referenceCase('evb-');

describe('semembed evaluate-retrieval beyond the reference', () => {
  it('float64 features: the default engine ranks in float64 and gives the reference metrics to 1e-12', () => {
    const json = join(dir, 'default.json');
    const r = evaluateRetrieval(feat64, labelsTxt, ['--clip_ahp', '250', '--json', json, '--plot_max', '250']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/exact search \(float64\)/);
    const ours = JSON.parse(readFileSync(json, 'utf8')).feat64;
    const ref = refRun(false, 250).metrics_mean;
    expect(Object.keys(ours)).toEqual(Object.keys(ref));
    for (const [m, v] of Object.entries(ref)) expect(Math.abs(ours[m] - (v as number)), m).toBeLessThanOrEqual(1e-12);
  }, 240_000);

  it('--hier_metrics --bootstrap: a second table with intervals, paired tests, the JSON beside the reference keys', () => {
    const json = join(dir, 'beyond.json');
    const r = evaluateRetrieval(feat64, labelsTxt, [
      ...asIsAndNormalised(feat64, 'l2', 'cos'),
      '--clip_ahp',
      '50',
      '--plot_max',
      '50',
      '--hier_metrics',
      '--bootstrap',
      '200',
      '--seed',
      '3',
      '--json',
      json,
      '--threads',
      '2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Beyond the reference with 95% bootstrap intervals \(200 resamples, seed 3\)/);
    expect(r.stdout).toMatch(/\| nDCG@10 \(LCS_HEIGHT\) +\|/);
    expect(r.stdout).toMatch(/^(l2 beats cos|cos beats l2) on AP: [+-]\d\.\d{4} \[.*\], p = /m);
    const out = JSON.parse(readFileSync(json, 'utf8'));
    const iv = out.intervals.l2['nDCG@50 (LCS_HEIGHT)'];
    expect(iv.estimate).toBe(out.l2['nDCG@50 (LCS_HEIGHT)']);
    expect(iv.lo).toBeLessThanOrEqual(iv.estimate);
    expect(iv.hi).toBeGreaterThanOrEqual(iv.estimate);
    expect(out.l2['LCS height@10']).toBeGreaterThanOrEqual(0);
    expect(out.comparisons.length).toBeGreaterThan(3);
  }, 240_000);

  it('bad --bootstrap value: exit 2 before any work', () => {
    const json = join(dir, 'bad.json');
    const r = evaluateRetrieval(feat64, labelsTxt, ['--bootstrap', '-5', '--json', json]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--bootstrap/);
  }, 60_000);
});

describe('semembed evaluate-classification beyond the reference', () => {
  // 4 CIFAR classes: 3 and 42 are leaves under different parents than 43 and 88 (LCS heights from the taxonomy)
  const classes = [3, 42, 43, 88];
  const truth = [3, 3, 42, 42, 43, 43, 88, 88];
  const probs = [
    [0.7, 0.1, 0.1, 0.1],
    [0.1, 0.6, 0.2, 0.1],
    [0.1, 0.8, 0.05, 0.05],
    [0.1, 0.2, 0.6, 0.1],
    [0.0, 0.1, 0.9, 0.0],
    [0.3, 0.0, 0.3, 0.4],
    [0.1, 0.1, 0.1, 0.7],
    [0.4, 0.1, 0.0, 0.5],
  ];
  const H = hierarchy.maxHeight;
  const lv = (a: number, b: number) => Math.round(hierarchy.lcsHeight(a, b) * H);

  it('mistake severity and hierarchical distance of the softmax and of CRM, recomputed from the taxonomy', () => {
    const feat = join(dir, 'prob.npy');
    writeNpy(feat, { data: Float32Array.from(probs.flat()), shape: [8, 4] });
    const { columns: cols, labels } = columnFiles(dir, classes, truth, 'custom');
    const json = join(dir, 'cls.json');
    const r = evaluateClassification(feat, labels, [
      '--classes_from',
      cols,
      '--prob_features',
      'yes',
      '--crm',
      '--bootstrap',
      '100',
      '--json',
      json,
      '--label',
      'p',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Mistakes \(LCS heights in tree levels\) with 95% bootstrap intervals/);
    const out = JSON.parse(readFileSync(json, 'utf8'));
    // by hand: argmax per row, then CRM = argmin_c sum_j p_j * height(lcs(j, c))
    const argmax = probs.map((p) => p.reduce((b, v, c) => (v > p[b] || (v === p[b] && c > b) ? c : b), 0));
    const crm = probs.map((p) => {
      const cost = classes.map((_, c) =>
        p.reduce((s, pj, j) => s + (j === c ? 0 : pj * lv(classes[j], classes[c])), 0),
      );
      return cost.reduce((b, v, c) => (v < cost[b] ? c : b), 0);
    });
    for (const [label, pred] of [
      ['p', argmax],
      ['p (CRM)', crm],
    ] as const) {
      const wrong = pred.map((c, i) => classes[c] !== truth[i]);
      const sev = pred.map((c, i) => lv(classes[c], truth[i])).filter((_, i) => wrong[i]);
      expect(out[label]['Top-1 Error'], label).toBeCloseTo(wrong.filter(Boolean).length / 8, 12);
      expect(out[label]['Mistake Severity'], label).toBeCloseTo(sev.reduce((a, b) => a + b, 0) / sev.length, 12);
      expect(out[label]['Hier. Distance@1'], label).toBeCloseTo(
        pred.reduce((s, c, i) => s + lv(classes[c], truth[i]), 0) / 8,
        12,
      );
      expect(out[label].Accuracy, label).toBeCloseTo(1 - out[label]['Top-1 Error'], 12);
    }
    expect(out.intervals['p (CRM)']['Top-1 Error'].lo).toBeLessThanOrEqual(out['p (CRM)']['Top-1 Error']);
  }, 120_000);
});

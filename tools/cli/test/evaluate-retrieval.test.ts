// evaluate-retrieval end to end (real FAISS, real files) against the reference's own results
// (@semembed/test-fixtures' cvjena/reference/metrics: cvjena/semantic-embeddings hierarchical_precision outputs).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '@semembed/formats';
import { semembed } from './run.js';
import { asIsAndNormalised, evaluateRetrieval, HIER, REF, referenceCase } from './evaluate-inputs.js';

const { dir, inputs, n, dim, feat64, feat32, labelsTxt, labelsNpy, refRun } = referenceCase('evr-');

describe('semembed evaluate-retrieval', () => {
  it('matches the reference to 1e-12 (exact engine), prints its table, writes CSV, JSON and plots', () => {
    const json = join(dir, 'out.json');
    const csv = join(dir, 'out.csv');
    const plots = join(dir, 'plots');
    const r = evaluateRetrieval(feat64, labelsTxt, [
      ...asIsAndNormalised(feat64, 'l2', 'cosine'),
      '--dataset',
      'CIFAR-100',
      '--data_root',
      '/nonexistent',
      '--clip_ahp',
      '250',
      '--engine',
      'exact',
      '--json',
      json,
      '--csv',
      csv,
      '--plots',
      plots,
      '--no_progress',
    ]);
    expect(r.stderr).not.toMatch(/Error|at /);
    expect(r.code).toBe(0);
    const ours = JSON.parse(readFileSync(json, 'utf8'));
    for (const [label, normalize] of [
      ['l2', false],
      ['cosine', true],
    ] as const) {
      const ref = refRun(normalize, 250).metrics_mean;
      expect(Object.keys(ours[label])).toEqual(Object.keys(ref));
      for (const [m, v] of Object.entries(ref))
        expect(Math.abs(ours[label][m] - (v as number)), `${label} ${m}`).toBeLessThanOrEqual(1e-12);
    }
    // the reference's print_performance layout
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('');
    expect(lines[1]).toBe(
      '       | P@1 (WUP) | P@10 (WUP) | P@50 (WUP) | P@100 (WUP) | AHP@250 (WUP) | P@1 (LCS_HEIGHT) | ' +
        'P@10 (LCS_HEIGHT) | P@50 (LCS_HEIGHT) | P@100 (LCS_HEIGHT) | AHP@250 (LCS_HEIGHT) |   AP  ',
    );
    expect(lines[2]).toMatch(/^-+$/);
    const cols = lines[1]
      .split(' | ')
      .slice(1)
      .map((c) => c.trim());
    expect(lines[2].length).toBe(6 + cols.reduce((s, m) => s + 3 + Math.max(6, m.length), 0));
    const ref = refRun(false, 250).metrics_mean;
    expect(lines[3]).toBe(
      'l2     | ' +
        (
          [
            ['P@1 (WUP)', 9],
            ['P@10 (WUP)', 10],
            ['P@50 (WUP)', 10],
            ['P@100 (WUP)', 11],
            ['AHP@250 (WUP)', 13],
            ['P@1 (LCS_HEIGHT)', 16],
            ['P@10 (LCS_HEIGHT)', 17],
            ['P@50 (LCS_HEIGHT)', 17],
            ['P@100 (LCS_HEIGHT)', 18],
            ['AHP@250 (LCS_HEIGHT)', 20],
            ['AP', 6],
          ] as const
        )
          .map(([m, width]) => ref[m].toFixed(4).padStart(width))
          .join(' | '),
    );
    // CSV: k;labels, then P@k (LCS_HEIGHT) for k = 1..250 in Python float repr
    const rows = readFileSync(csv, 'utf8').trimEnd().split('\n');
    expect(rows[0]).toBe('k;l2;cosine');
    expect(rows.length).toBe(251);
    const [k, a] = rows[1].split(';');
    expect(k).toBe('1');
    expect(Number(a)).toBe(ours.l2['P@1 (LCS_HEIGHT)']);
    for (const f of ['hierarchical_precision', 'mahp']) {
      expect(readFileSync(join(plots, `${f}.svg`), 'utf8')).toMatch(/^<svg[^>]*>/);
      expect(readFileSync(join(plots, `${f}.png`)).subarray(0, 8)).toEqual(
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      );
    }
    expect(readFileSync(join(plots, 'hierarchical_precision.svg'), 'utf8')).toContain('cosine');
  }, 240_000);

  it('uses FAISS by default (float32 features, .npy labels) and agrees with the reference to float32 precision', () => {
    const json = join(dir, 'faiss.json');
    const r = evaluateRetrieval(feat32, labelsNpy, ['--clip_ahp', '250', '--json', json, '--plot_max', '100']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/faiss search/);
    expect(r.stderr).not.toMatch(/warning: FAISS/);
    const ours = JSON.parse(readFileSync(json, 'utf8')).feat32;
    const ref = refRun(false, 250).metrics_mean;
    // float32 distances reorder a few near-ties of the float64 ranking (gaps down to 3e-11): small differences only
    for (const m of ['P@1 (WUP)', 'P@100 (LCS_HEIGHT)', 'AHP@250 (WUP)', 'AHP@250 (LCS_HEIGHT)', 'AP'])
      expect(Math.abs(ours[m] - ref[m]), m).toBeLessThan(2e-3);
    expect(Object.keys(ours)).toContain('P@100 (WUP)');
    expect(Object.keys(ours)).not.toContain('P@101 (WUP)');
  }, 120_000);

  it('full AHP (no --clip_ahp) names the column AHP and matches the reference', () => {
    const json = join(dir, 'full.json');
    const r = evaluateRetrieval(feat64, labelsTxt, ['--engine', 'exact', '--json', json, '--plot_max', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('| AHP (WUP) |');
    const ours = JSON.parse(readFileSync(json, 'utf8')).feat64;
    const ref = refRun(false, true).metrics_mean;
    for (const m of ['P@1 (WUP)', 'P@10 (LCS_HEIGHT)', 'P@100 (WUP)', 'AHP (WUP)', 'AHP (LCS_HEIGHT)', 'AP'])
      expect(Math.abs(ours[m] - ref[m]), m).toBeLessThanOrEqual(1e-12);
  }, 120_000);

  it("reads the reference's pickled feature dumps ({feat: {id: vector}}, ids in any order): c_ties matches its stable-order results", () => {
    const json = join(dir, 'pickle.json');
    const fx = join(import.meta.dirname, 'fixtures');
    const r = evaluateRetrieval(join(fx, 'c_ties.feat.pickle'), join(fx, 'c_ties.labels.txt'), [
      '--clip_ahp',
      '250',
      '--json',
      json,
      '--plot_max',
      '250',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const ties = JSON.parse(readFileSync(join(REF, 'c_ties.results.json'), 'utf8'));
    const ref = ties.runs.find(
      (x: any) => !x.normalize && x.ranking === 'stable_argsort' && x.compute_ahp === 250,
    ).metrics_mean;
    const ours = JSON.parse(readFileSync(json, 'utf8'))['c_ties.feat'];
    let checked = 0;
    for (const [m, v] of Object.entries(ref)) {
      expect(Math.abs(ours[m] - (v as number)), m).toBeLessThanOrEqual(1e-12);
      checked++;
    }
    expect(checked).toBe(503);
  }, 120_000);

  describe('bad input: one clear line, exit 1 (2 for a bad command line), nothing written', () => {
    const out = join(dir, 'bad.json');
    const run = (args: string[]) =>
      semembed(['evaluate-retrieval', '--hierarchy', HIER, '--json', out, '--no_progress', ...args]);
    function expectError(r: ReturnType<typeof semembed>, pattern: RegExp, code = 1) {
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(/^semembed: /);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    }
    it('feature / label count mismatch', () => {
      const short = join(dir, 'short.txt');
      writeFileSync(short, inputs.labels.slice(0, 1999).join('\n'));
      expectError(
        run(['--feat', feat32, '--labels', short]),
        /feat32\.npy has 2000 feature rows but .*short\.txt has 1999 labels/,
      );
    });
    it('NaN features', () => {
      const x = Float32Array.from(inputs.features.flat() as number[]);
      x[5 * dim + 3] = NaN;
      const f = join(dir, 'nan.npy');
      writeNpy(f, { data: x, shape: [n, dim] });
      expectError(run(['--feat', f, '--labels', labelsTxt]), /nan\.npy: feature row 5, column 3 is NaN/);
    });
    it('labels not in the taxonomy', () => {
      const bad = join(dir, 'bad-labels.txt');
      writeFileSync(bad, [...inputs.labels.slice(0, 10), 4242, ...inputs.labels.slice(11)].join('\n'));
      expectError(run(['--feat', feat32, '--labels', bad]), /label 4242 \(row 10\) is not in the hierarchy/);
    });
    it('empty files', () => {
      const empty = join(dir, 'empty.npy');
      writeFileSync(empty, '');
      expectError(run(['--feat', empty, '--labels', labelsTxt]), /empty\.npy: the file is empty/);
      const emptyLabels = join(dir, 'empty.txt');
      writeFileSync(emptyLabels, '\n\n');
      expectError(run(['--feat', feat32, '--labels', emptyLabels]), /empty\.txt: no labels/);
    });
    it('no labels and no dataset', () => {
      expectError(run(['--feat', feat32]), /--labels/, 2);
    });
    it('bad --norm value', () => {
      expectError(
        run(['--feat', feat32, '--labels', labelsTxt, '--norm', 'maybe']),
        /--norm: boolean value expected/,
        2,
      );
    });
  });
});

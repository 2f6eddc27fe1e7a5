import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '@semembed/formats';
import { semembed } from './helpers.js';

// Debian dataset-fashion-mnist is a test dependency (scripts/install-system-deps.sh): missing fails, never skips.
const haveData = existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
const out = mkdtempSync(join(tmpdir(), 'pipeline-'));

describe('semembed pipeline (the main job) on a small slice of Fashion-MNIST', () => {
  it('the Debian dataset-fashion-mnist files are installed', () => {
    expect(haveData, '/usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)').toBe(true);
  });
  it('runs every step and writes a consistent report', () => {
    const r = semembed(['pipeline', '--out', out, '--limit', '400', '--epochs', '1', '--no-progress'], {
      timeout: 600_000,
    });
    expect(r.stderr).not.toMatch(/warning: .*fallback|internal error/i);
    expect(r.code).toBe(0);
    for (let s = 1; s <= 9; s++) expect(r.stderr).toMatch(new RegExp(`\\[${s}/9\\] .*: [0-9.]+ s`));
    const m = JSON.parse(readFileSync(join(out, 'report', 'metrics.json'), 'utf8'));
    expect(m.searchEngine).toEqual(['faiss']);
    const labels = Object.keys(m.retrieval);
    expect(labels).toEqual(['semantic (unitsphere)', 'baseline (softmax)']);
    for (const l of labels) {
      for (const name of ['AHP@250 (LCS_HEIGHT)', 'AHP@250 (WUP)', 'AP', 'P@1 (WUP)']) {
        expect(m.retrieval[l][name], `${l} ${name}`).toBeGreaterThan(0);
        expect(m.retrieval[l][name]).toBeLessThanOrEqual(1);
      }
      // the same network in TF.js and ONNX Runtime gives the same features
      expect(m.consistency[l].maxAbsDiffOrtVsTfjs).toBeLessThan(1e-4);
    }
    const cls = m.classification['semantic (unitsphere)'];
    expect(cls['Balanced Accuracy (nearest class embedding)']).toBeGreaterThan(0.1);
    const feats = readNpy(join(out, 'semantic', 'test-features.npy'));
    expect(feats.shape).toEqual([400, 10]);
    // l2norm output: unit rows
    const f = feats.data as Float32Array;
    expect(Math.hypot(...f.subarray(0, 10))).toBeCloseTo(1, 5);
    for (const f of [
      'hp-curve-lcs_height.svg',
      'hp-curve-lcs_height.png',
      'mahp-bars.svg',
      'mahp-bars.png',
      'README.md',
    ]) {
      expect(existsSync(join(out, 'report', f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'report', 'README.md'), 'utf8')).toMatch(/\| semantic \(unitsphere\) \| 0\.\d{4} \|/);
    expect(existsSync(join(out, 'site', 'index.html'))).toBe(true);
    expect(r.stdout).toMatch(/npx semembed serve --model .*model\.onnx --gallery .*test-features\.npy --web_root/);

    // a second run skips every step
    const again = semembed(['pipeline', '--out', out, '--limit', '400', '--epochs', '1', '--no-progress']);
    expect(again.code).toBe(0);
    expect(again.stderr.match(/done already/g)?.length).toBe(9);
  }, 600_000);

  it('rejects bad options with one line', () => {
    const r = semembed(['pipeline', '--out', out, '--epochs', '0']);
    expect(r.code).toBe(2); // a bad flag value: rejected while parsing, before any step
    expect(r.stderr.trim()).toBe("semembed: --epochs must be an integer >= 1, got '0'");
    const h = semembed(['pipeline', '--out', out, '--hierarchy', 'nope.txt']);
    expect(h.code).toBe(1);
    expect(h.stderr).toMatch(/--hierarchy .*nope\.txt: no such file/);
  });
});

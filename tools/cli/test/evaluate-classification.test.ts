// evaluate-classification: accuracies recomputed independently here from the same small inputs.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '@semembed/formats';
import { writeClassEmbedding } from '@semembed/hierarchy';
import { columnFiles, evaluateClassification, hierarchy } from './evaluate-inputs.js';

const dir = mkdtempSync(join(tmpdir(), 'evc-'));

// 4 classes (CIFAR ids), 8 samples; probabilities over the 4 columns
const classes = [3, 42, 43, 88];
const truth = [3, 3, 42, 42, 43, 43, 88, 88];
const probs = [
  [0.7, 0.1, 0.1, 0.1], // 3 ok
  [0.1, 0.6, 0.2, 0.1], // 3 -> 42, 3 in top-5
  [0.1, 0.8, 0.05, 0.05], // 42 ok
  [0.1, 0.2, 0.6, 0.1], // 42 -> 43
  [0.0, 0.1, 0.9, 0.0], // 43 ok
  [0.25, 0.25, 0.25, 0.25], // 43: full tie -> highest column (88) first, as argsort()[:, ::-1]
  [0.1, 0.1, 0.1, 0.7], // 88 ok
  [0.1, 0.1, 0.1, 0.7], // 88 ok
];

describe('semembed evaluate-classification', () => {
  it('prob features: accuracy, top-5, hierarchical and balanced accuracy', () => {
    const feat = join(dir, 'prob.npy');
    writeNpy(feat, { data: Float32Array.from(probs.flat()), shape: [8, 4] });
    // --classes_from names the 4 output columns; labels are then column indices
    const { columns: emb, labels } = columnFiles(dir, classes, truth);
    const json = join(dir, 'out.json');
    const r = evaluateClassification(feat, labels, ['--classes_from', emb, '--prob_features', 'yes', '--json', json]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(json, 'utf8')).prob;
    const pred = [3, 42, 42, 43, 43, 88, 88, 88];
    expect(m.Accuracy).toBe(5 / 8);
    expect(m['Top-5 Accuracy']).toBe(1);
    let h = 0.0;
    for (let i = 0; i < 8; i++) h += 1.0 - hierarchy.lcsHeight(pred[i], truth[i]);
    expect(m['Hierarchical Accuracy']).toBe(h / 8);
    expect(m['Balanced Accuracy']).toBe((0.5 + 0.5 + 0.5 + 1) / 4);
    expect(r.stdout).toContain('Accuracy | Top-5 Accuracy | Hierarchical Accuracy');
  }, 120_000);

  it('--centroids: nearest class embedding (squared Euclidean)', () => {
    const cent = join(dir, 'cent.json');
    const E = new Float64Array([1, 0, 0, 1, -1, 0, 0, -1]); // 4 classes in 2-d
    writeClassEmbedding(cent, {
      method: 'custom',
      ind2label: classes,
      label2ind: new Map(classes.map((c, i) => [c, i])),
      embedding: E,
      rows: 4,
      dim: 2,
    });
    const x = [0.9, 0.1, 0.2, 0.8, -0.7, 0.1, 0.1, -0.9, 0.6, 0.5];
    const feat = join(dir, 'emb.npy');
    writeNpy(feat, { data: Float32Array.from(x), shape: [5, 2] });
    const labels = join(dir, 'ids.txt');
    writeFileSync(labels, [3, 42, 43, 88, 42].join('\n'));
    const json = join(dir, 'cent-out.json');
    const r = evaluateClassification(feat, labels, ['--centroids', cent, '--json', json, '--label', 'nn']);
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(json, 'utf8')).nn;
    expect(m.Accuracy).toBe(4 / 5); // last sample (0.6, 0.5) is nearest to class 3, not 42
    expect(m['Balanced Accuracy']).toBe((1 + 0.5 + 1 + 1) / 4);
  }, 120_000);

  it('without --prob_features or --centroids: a clear error', () => {
    const feat = join(dir, 'prob2.npy');
    writeNpy(feat, { data: Float32Array.from(probs.flat()), shape: [8, 4] });
    const labels = join(dir, 'l2.txt');
    writeFileSync(labels, truth.join('\n'));
    const r = evaluateClassification(feat, labels, []);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^semembed: .*--prob_features yes .* --centroids/);
  }, 120_000);
});

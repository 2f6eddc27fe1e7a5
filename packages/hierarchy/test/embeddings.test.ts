import { describe, expect, it } from 'vitest';
import {
  type EmbeddingMethod,
  NORM_EPS,
  computeClassEmbedding,
  readClassEmbedding,
  readHierarchy,
  spheresEmbedding,
} from '../src/index.js';
import { fixturePath } from '@semembed/test-fixtures';
import { TAX, type TaxName, flat, gram, maxAbsDiff, pdist, refJson } from './helpers.js';

interface RefEmbedding {
  ind2label: number[];
  embedding: (number | null)[][];
  method: string;
  num_dim: number | null;
  norm: boolean;
  max_dev: number;
  mean_dev: number;
  nan_rows?: number;
}

function compute(name: TaxName, method: EmbeddingMethod, numDim?: number, norm = false) {
  const h = readHierarchy(TAX[name].file, { isA: TAX[name].isA });
  return { h, res: computeClassEmbedding(h, h.leaves(), { method, numDim, norm }) };
}

describe('unitsphere matches the reference to 1e-12', () => {
  it.each(['cifar', 'cub_balanced', 'nab'] as TaxName[])('%s', (name) => {
    const ref = refJson<RefEmbedding>(`embeddings/${name}.unitsphere.json`);
    const { res } = compute(name, 'unitsphere');
    expect(res.classes).toEqual(ref.ind2label);
    expect(res.dim).toBe(ref.embedding.length);
    expect(maxAbsDiff(res.embedding, flat(ref.embedding))).toBeLessThanOrEqual(1e-12);
    // the printed deviation is of the same (rounding-level) size as the reference's
    expect(res.deviation.kind).toBe('similarities');
    expect(res.deviation.max).toBeLessThan(1e-13);
    expect(Math.abs(res.deviation.mean - ref.mean_dev)).toBeLessThan(1e-14);
  });

  it('equals the authors released cifar100.unitsphere.pickle', () => {
    const released = readClassEmbedding(fixturePath('cvjena/released/cifar100.unitsphere.pickle'));
    const { res } = compute('cifar', 'unitsphere');
    expect(released.ind2label).toEqual(res.classes);
    expect(maxAbsDiff(released.embedding, res.embedding)).toBeLessThan(1e-15);
  });
});

describe('approx_sim matches the reference Gram matrix to 1e-10', () => {
  it.each([
    ['cifar', undefined, 'approx_sim'],
    ['cifar', 8, 'approx_sim-d8'],
    ['cifar', 16, 'approx_sim-d16'],
    ['nab', 16, 'approx_sim-d16'],
  ] as [TaxName, number | undefined, string][])('%s d=%s', (name, d, file) => {
    const ref = refJson<RefEmbedding>(`embeddings/${name}.${file}.json`);
    const { res } = compute(name, 'approx_sim', d);
    const n = ref.ind2label.length;
    const refDim = ref.embedding[0].length;
    expect(res.dim).toBe(refDim);
    expect(maxAbsDiff(gram(res.embedding, n, res.dim), gram(flat(ref.embedding), n, refDim))).toBeLessThanOrEqual(
      1e-10,
    );
    expect(Math.abs(res.deviation.max - ref.max_dev)).toBeLessThan(1e-10);
    expect(Math.abs(res.deviation.mean - ref.mean_dev)).toBeLessThan(1e-10);
    // nab (555 classes) takes the tree Krylov path; cifar's small cuts the dense one
    expect(res.solver).toBe(name === 'nab' ? 'tree-krylov' : 'dense-eigh');
  });

  it('keeps columns in ascending eigenvalue order (largest last), as the reference', () => {
    const { res } = compute('cifar', 'approx_sim', 8);
    const colNorms = Array.from({ length: res.dim }, (_, c) => {
      let s = 0;
      for (let i = 0; i < res.rows; i++) s += res.embedding[i * res.dim + c] ** 2;
      return s;
    });
    for (let c = 1; c < res.dim; c++) expect(colNorms[c]).toBeGreaterThanOrEqual(colNorms[c - 1] - 1e-9);
  });

  it('--norm gives unit rows and the reference rows where the reference has no NaN', () => {
    for (const d of [8, 16]) {
      const ref = refJson<RefEmbedding>(`embeddings/cifar.approx_sim-d${d}-norm.json`);
      const { res } = compute('cifar', 'approx_sim', d, true);
      const n = res.rows;
      const refFlat = flat(ref.embedding);
      const g = gram(res.embedding, n, d);
      const gr = gram(refFlat, n, d);
      let checked = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += res.embedding[i * d + k] ** 2;
        if (Number.isNaN(refFlat[i * d])) {
          expect(Math.sqrt(s)).toBeLessThan(1 + 1e-12);
          continue;
        }
        expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-12);
        for (let j = 0; j < n; j++) {
          if (Number.isNaN(refFlat[j * d])) continue;
          expect(Math.abs(g[i * n + j] - gr[i * n + j])).toBeLessThan(1e-10);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(n * n * 0.5);
      expect(res.embedding.some(Number.isNaN)).toBe(false);
    }
  });
});

describe('mds and spheres reproduce the distances to 1e-10', () => {
  it.each([
    ['cifar', 'mds', undefined, 'mds'],
    ['cifar', 'mds', 32, 'mds-d32'],
    ['cub_balanced', 'mds', 32, 'mds-d32'],
    ['cifar', 'spheres', undefined, 'spheres'],
    ['cub_balanced', 'spheres', undefined, 'spheres'],
  ] as [TaxName, EmbeddingMethod, number | undefined, string][])('%s %s d=%s', (name, method, d, file) => {
    const ref = refJson<RefEmbedding>(`embeddings/${name}.${file}.json`);
    const { h, res } = compute(name, method, d);
    const n = res.rows;
    const dist = h.distanceMatrix(h.leaves());
    const refFlat = flat(ref.embedding);
    const refDim = ref.embedding[0].length;
    expect(res.dim).toBe(refDim);
    if (d === undefined) {
      // full embeddings reproduce D itself
      expect(maxAbsDiff(pdist(res.embedding, n, res.dim), dist)).toBeLessThanOrEqual(1e-10);
    }
    expect(maxAbsDiff(pdist(res.embedding, n, res.dim), pdist(refFlat, n, refDim))).toBeLessThanOrEqual(1e-10);
    if (method === 'mds')
      expect(maxAbsDiff(gram(res.embedding, n, res.dim), gram(refFlat, n, refDim))).toBeLessThanOrEqual(1e-10);
    if (method === 'spheres') expect(maxAbsDiff(res.embedding, refFlat)).toBeLessThanOrEqual(1e-10);
    expect(res.deviation.kind).toBe('distances');
    expect(Math.abs(res.deviation.max - ref.max_dev)).toBeLessThan(1e-10);
  });

  it('spheres fails clearly when the distances are not Euclidean', () => {
    // d(0,1) = 1, d(0,2) = 1, d(1,2) = 3 violates the triangle inequality
    const D = new Float64Array([0, 1, 1, 1, 0, 3, 1, 3, 0]);
    expect(() => spheresEmbedding(D, 3)).toThrow(
      /spheres: failed to place class #3: there is no common intersection of all spheres/,
    );
  });
});

describe('norm rule', () => {
  it('keeps zero rows at zero instead of NaN', async () => {
    const { normalizeRows } = await import('../src/index.js');
    const res = { embedding: new Float64Array([3, 4, 0, 0, 1e-12, 0]), rows: 3, dim: 2, solver: 'x', solveSeconds: 0 };
    expect(normalizeRows(res)).toBe(2);
    expect(Array.from(res.embedding)).toEqual([0.6, 0.8, 0, 0, 1e-12 / NORM_EPS, 0]);
  });
});

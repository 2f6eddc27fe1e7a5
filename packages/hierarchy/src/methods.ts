import { l2normalizeRows } from '@semembed/model';
import { HierarchyError } from './errors.js';
import type { Hierarchy } from './hierarchy.js';
import type { ClassId } from './ids.js';
import { choleskyInPlace, symmetricEigen, topEigen } from './linalg.js';

export type EmbeddingMethod = 'unitsphere' | 'approx_sim' | 'mds' | 'spheres';
export const EMBEDDING_METHODS: EmbeddingMethod[] = ['unitsphere', 'approx_sim', 'mds', 'spheres'];

export interface EmbeddingResult {
  /** rows × dim, row-major */
  embedding: Float64Array;
  rows: number;
  dim: number;
  /** How the embedding was computed, e.g. 'cholesky', 'dense-eigh', 'tree-krylov'. */
  solver: string;
  solveSeconds: number;
}

/** Rows whose norm is below this are kept as they are by `--norm` (see normalizeRows). */
export const NORM_EPS = 1e-8;

/**
 * unitsphere: E·Eᵀ = S with E lower triangular and a positive diagonal, i.e. the Cholesky factor of S (spec §2.5).
 * The reference reaches the same factor with n triangular solves (O(n⁴)); this is the O(n³/3) factorisation.
 */
export function unitsphereEmbedding(
  sim: Float64Array,
  n: number,
  classes?: ClassId[],
  inPlace = false,
): EmbeddingResult {
  const t0 = performance.now();
  const a = inPlace ? sim : sim.slice();
  const bad = choleskyInPlace(a, n, 64 * n * Number.EPSILON);
  if (bad >= 0) {
    const cls = classes ? `'${classes[bad]}' (row ${bad})` : `row ${bad}`;
    throw new HierarchyError(
      `unitsphere: the class similarity matrix is not positive definite (the factorisation fails at class ${cls}); ` +
        'this happens for taxonomies with several parents per node (DAGs) or duplicate classes. ' +
        'Use a tree taxonomy (e.g. a min-tree of the DAG) or --method mds.',
    );
  }
  return { embedding: a, rows: n, dim: n, solver: 'cholesky', solveSeconds: (performance.now() - t0) / 1000 };
}

/**
 * approx_sim: E = Q·sqrt(Λ) from the eigen-decomposition of S, keeping the num_dim largest eigenpairs in ascending
 * order (largest last, as the reference) (spec §2.6). With a tree taxonomy and num_dim < n, only the needed
 * eigenpairs are computed, by a Krylov method on the O(nodes) similarity operator.
 */
export function approxSimEmbedding(
  sim: Float64Array,
  n: number,
  numDim: number | undefined,
  operator?: (x: Float64Array, y: Float64Array) => void,
): EmbeddingResult {
  const t0 = performance.now();
  const d = numDim !== undefined && numDim > 0 && numDim < n ? numDim : n;
  let values: Float64Array;
  let vectors: Float64Array;
  let solver: string;
  if (operator && d < n && n > 400) {
    ({ values, vectors } = topEigen(operator, n, d));
    solver = 'tree-krylov';
  } else {
    const full = symmetricEigen(sim, n);
    // The reference raises on any negative eigenvalue (strict < 0): quirk Q8. Rounding can leave -1e-16 on a
    // PSD matrix; we only fail beyond a tolerance scaled to the matrix.
    const tol = n * Number.EPSILON * Math.max(1, Math.abs(full.values[n - 1]));
    if (full.values[0] < -tol) {
      throw new HierarchyError(
        `approx_sim: the class similarity matrix is not positive semi-definite (smallest eigenvalue ${full.values[0].toExponential(3)}); ` +
          'this happens for taxonomies with several parents per node (DAGs).',
      );
    }
    values = full.values.slice(n - d);
    vectors = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) vectors[i * d + c] = full.vectors[i * n + n - d + c];
    solver = 'dense-eigh';
  }
  const e = new Float64Array(n * d);
  for (let c = 0; c < d; c++) {
    const s = Math.sqrt(Math.max(0, values[c]));
    for (let i = 0; i < n; i++) e[i * d + c] = vectors[i * d + c] * s;
  }
  return { embedding: e, rows: n, dim: d, solver, solveSeconds: (performance.now() - t0) / 1000 };
}

/**
 * mds: classical multidimensional scaling of the distances D (spec §2.7): B = -½·H·D²·H, eigenvalues > eps kept,
 * the num_dim largest in descending order (the CLI always passes num_dim, n-1 by default).
 */
export function mdsEmbedding(dist: Float64Array, n: number, numDim: number | undefined): EmbeddingResult {
  const t0 = performance.now();
  const d2 = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) d2[i] = dist[i] * dist[i];
  // H·D²·H = D² - row means - column means + grand mean (H = I - 1/n)
  const rowMean = new Float64Array(n);
  let grand = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += d2[i * n + j];
    rowMean[i] = s / n;
    grand += s;
  }
  grand /= n * n;
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) b[i * n + j] = (d2[i * n + j] - rowMean[i] - rowMean[j] + grand) / -2;
  const { values, vectors } = symmetricEigen(b, n);
  const keep: number[] = [];
  for (let c = 0; c < n; c++) if (values[c] > Number.EPSILON) keep.push(c);
  keep.sort((x, y) => values[y] - values[x]);
  const want = numDim !== undefined && numDim > 0 ? numDim : n - 1;
  const cols = keep.slice(0, want);
  const dim = cols.length;
  const e = new Float64Array(n * dim);
  cols.forEach((src, c) => {
    const s = Math.sqrt(values[src]);
    for (let i = 0; i < n; i++) e[i * dim + c] = vectors[i * n + src] * s;
  });
  return { embedding: e, rows: n, dim, solver: 'dense-eigh', solveSeconds: (performance.now() - t0) / 1000 };
}

/**
 * spheres: places class c at the intersection of the spheres around classes 0..c-1 with radii D (spec §2.8).
 * The system for class c is lower triangular, so it is solved by forward substitution (O(n³) overall).
 */
export function spheresEmbedding(dist: Float64Array, n: number): EmbeddingResult {
  const t0 = performance.now();
  const m = Math.max(1, n - 1);
  const e = new Float64Array(n * m);
  if (n > 1) e[m] = dist[1];
  const rowSq = new Float64Array(n);
  rowSq[1] = e[m] * e[m];
  for (let c = 2; c < n; c++) {
    const r0 = dist[c] * dist[c]; // D[0][c]²
    const x = new Float64Array(c - 1);
    let ok = true;
    for (let k = 0; k < c - 1; k++) {
      // row k of C is class k+1's coordinates 0..c-2; b_k = (r0 - D[k+1][c]² + |E_{k+1}|²) / 2
      const rk = dist[(k + 1) * n + c];
      let s = (r0 - rk * rk + rowSq[k + 1]) / 2;
      const row = (k + 1) * m;
      for (let j = 0; j < k; j++) s -= e[row + j] * x[j];
      const diag = e[row + k];
      if (diag === 0) {
        ok = false;
        break;
      }
      x[k] = s / diag;
    }
    if (ok) {
      // np.allclose(C·x, b): |C·x - b| <= 1e-8 + 1e-5·|b|
      for (let k = 0; k < c - 1 && ok; k++) {
        const rk = dist[(k + 1) * n + c];
        const bk = (r0 - rk * rk + rowSq[k + 1]) / 2;
        let s = 0;
        for (let j = 0; j <= k; j++) s += e[(k + 1) * m + j] * x[j];
        if (!(Math.abs(s - bk) <= 1e-8 + 1e-5 * Math.abs(bk))) ok = false;
      }
    }
    if (!ok)
      throw new HierarchyError(
        `spheres: failed to place class #${c + 1}: the hyperspheres do not intersect (the distances are not a Euclidean metric)`,
      );
    let dsq = 0;
    for (const v of x) dsq += v * v;
    if (dsq > r0) {
      throw new HierarchyError(
        `spheres: failed to place class #${c + 1}: there is no common intersection of all spheres (offset ${Math.sqrt(dsq) - Math.sqrt(r0)})`,
      );
    }
    const row = c * m;
    e.set(x, row);
    e[row + c - 1] = Math.sqrt(r0 - dsq);
    rowSq[c] = dsq + (r0 - dsq);
  }
  return {
    embedding: e,
    rows: n,
    dim: m,
    solver: 'forward-substitution',
    solveSeconds: (performance.now() - t0) / 1000,
  };
}

export interface Deviation {
  kind: 'similarities' | 'distances';
  max: number;
  mean: number;
  /** Rows the statistic was computed on: all, or a sample for very large n. */
  sampledRows?: number;
}

/**
 * What the reference prints after computing an embedding: |E·Eᵀ - S| (unitsphere, approx_sim) or
 * |pdist(E) - D| (mds, spheres), max and mean over the full n×n matrix. Above `maxFullRows` classes the
 * statistic is taken on a fixed sample of rows (it costs as much as the embedding itself).
 */
export function embeddingDeviation(
  method: EmbeddingMethod,
  emb: EmbeddingResult,
  dist: Float64Array | ((rows: number[]) => Float64Array),
  maxFullRows = 3000,
): Deviation {
  const { embedding: e, rows: n, dim: d } = emb;
  const sim = method === 'unitsphere' || method === 'approx_sim';
  let rows: number[] = Array.from({ length: n }, (_, i) => i);
  let sampled: number | undefined;
  if (n > maxFullRows) {
    // 1000 evenly spaced rows: 8 M of the 66 M entries at 8142 classes, a tenth of the solve's cost.
    const sample = Math.min(1000, maxFullRows);
    const step = n / sample;
    rows = Array.from({ length: sample }, (_, k) => Math.floor(k * step));
    sampled = rows.length;
  }
  // With a row provider only the sampled rows of D are ever computed; rowOf maps a class to its row in `target`.
  const target = typeof dist === 'function' ? dist(rows) : dist;
  const rowOf = new Int32Array(n).fill(-1);
  if (typeof dist === 'function') rows.forEach((i, r) => (rowOf[i] = r));
  else for (let i = 0; i < n; i++) rowOf[i] = i;
  // unitsphere's factor is lower triangular: row i has no entries past column i.
  const lower = method === 'unitsphere';
  let max = 0;
  let sum = 0;
  let count = 0;
  const visit = (i: number, j: number, weight: number) => {
    const ri = i * d;
    const rj = j * d;
    let v = 0;
    if (sim) {
      const kEnd = lower ? Math.min(i, j) + 1 : d;
      for (let k = 0; k < kEnd; k++) v += e[ri + k] * e[rj + k];
    } else {
      for (let k = 0; k < d; k++) v += (e[ri + k] - e[rj + k]) ** 2;
      v = Math.sqrt(v);
    }
    const t = target[rowOf[i] * n + j];
    const dev = Math.abs(v - (sim ? 1 - t : t));
    if (dev > max) max = dev;
    sum += weight * dev;
    count += weight;
  };
  if (sampled) {
    for (const i of rows) for (let j = 0; j < n; j++) visit(i, j, 1);
  } else {
    // The matrix is symmetric: visit j <= i once (off-diagonal pairs count twice), in tiles so that both
    // rows stay in cache.
    const T = 64;
    for (let i0 = 0; i0 < n; i0 += T) {
      for (let j0 = 0; j0 <= i0; j0 += T) {
        for (let i = i0; i < Math.min(n, i0 + T); i++) {
          for (let j = j0; j < Math.min(i + 1, j0 + T); j++) visit(i, j, i === j ? 1 : 2);
        }
      }
    }
  }
  return { kind: sim ? 'similarities' : 'distances', max, mean: sum / count, sampledRows: sampled };
}

/**
 * `--norm`: scales every row to unit length. Rows shorter than NORM_EPS are divided by NORM_EPS instead, which
 * keeps exact zero rows at zero and tiny ones tiny; the reference divides by the plain norm (NaN for zero rows,
 * quirk Q11), while the authors' released `nab.simD.pickle` files were made with this max(‖u‖, 1e-8) rule.
 * Returns how many rows were below NORM_EPS.
 */
export function normalizeRows(emb: EmbeddingResult): number {
  // @semembed/model's one L2 rule with this reference-fidelity eps (its default, 1e-6, is the runtimes').
  return l2normalizeRows(emb.embedding, emb.dim, NORM_EPS);
}

export interface ComputeOptions {
  method: EmbeddingMethod;
  numDim?: number;
  norm?: boolean;
}

export interface ClassEmbeddingComputation extends EmbeddingResult {
  method: EmbeddingMethod;
  classes: ClassId[];
  deviation: Deviation;
  smallRows: number;
  matrixSeconds: number;
}

/** compute_class_embedding.py's main path: targets from the taxonomy, the method, the deviation, --norm. */
export function computeClassEmbedding(
  h: Hierarchy,
  classes: ClassId[],
  options: ComputeOptions,
): ClassEmbeddingComputation {
  const n = classes.length;
  if (n === 0) throw new HierarchyError(`${h.source}: no target classes`);
  const t0 = performance.now();
  const op = options.method === 'approx_sim' ? h.similarityOperator(classes) : undefined;
  const d = options.numDim;
  // The Krylov path of approx_sim never needs the dense n×n matrices: the deviation then samples rows of D.
  const krylov = op !== undefined && d !== undefined && d > 0 && d < n && n > 400;
  const dist = krylov ? undefined : h.distanceMatrix(classes);
  const similarity = () => {
    const s = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) s[i] = 1 - (dist as Float64Array)[i];
    return s;
  };
  const matrixSeconds = (performance.now() - t0) / 1000;
  let result: EmbeddingResult;
  switch (options.method) {
    case 'unitsphere':
      result = unitsphereEmbedding(similarity(), n, classes, true);
      break;
    case 'approx_sim':
      result = approxSimEmbedding(krylov ? new Float64Array(0) : similarity(), n, d, op);
      break;
    case 'mds':
      result = mdsEmbedding(dist as Float64Array, n, d);
      break;
    case 'spheres':
      result = spheresEmbedding(dist as Float64Array, n);
      break;
    default:
      throw new HierarchyError(`unknown method '${options.method as string}' (choose ${EMBEDDING_METHODS.join(', ')})`);
  }
  const deviation = embeddingDeviation(options.method, result, dist ?? ((rows) => h.distanceRows(classes, rows)));
  const smallRows = options.norm ? normalizeRows(result) : 0;
  return { ...result, method: options.method, classes, deviation, smallRows, matrixSeconds };
}

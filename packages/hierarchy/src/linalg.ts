import { createRequire } from 'node:module';

// ml-matrix is loaded on first use, through its CommonJS build: its ES-module import costs ~0.1 s, a tenth of a whole
// `semembed compute-class-embedding` run, and unitsphere (the default) never needs it.
const require = createRequire(import.meta.url);
let mlMatrix: typeof import('ml-matrix') | undefined;
const ml = () => (mlMatrix ??= require('ml-matrix') as typeof import('ml-matrix'));

/** Row-major dense matrix helpers on Float64Array; the hot loops of the embedding methods live here. */

const BLOCK = 64;

/**
 * In-place blocked Cholesky factorisation (right-looking, tiles of 64) of a symmetric positive definite n×n
 * row-major matrix; the lower triangle becomes L (L·Lᵀ = A), the strict upper triangle is zeroed.
 * Returns -1 on success, or the row whose pivot was not positive (matrix not positive definite).
 * Tiling keeps both operands of the trailing update in cache: the unblocked row-by-row form streams the whole
 * factor through memory once per row and is memory-bound at a few thousand classes.
 */
export function choleskyInPlace(a: Float64Array, n: number, pivotTol = 0): number {
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const k1 = Math.min(n, k0 + BLOCK);
    // 1. factor the diagonal block
    for (let i = k0; i < k1; i++) {
      const ri = i * n;
      for (let j = k0; j <= i; j++) {
        const rj = j * n;
        let s = a[ri + j];
        for (let k = k0; k < j; k++) s -= a[ri + k] * a[rj + k];
        if (i === j) {
          if (!(s > pivotTol)) return i;
          a[ri + i] = Math.sqrt(s);
        } else {
          a[ri + j] = s / a[rj + j];
        }
      }
    }
    // 2. panel below it: rows i >= k1, columns k0..k1-1 (triangular solve against the diagonal block)
    for (let i = k1; i < n; i++) {
      const ri = i * n;
      for (let j = k0; j < k1; j++) {
        const rj = j * n;
        let s = a[ri + j];
        for (let k = k0; k < j; k++) s -= a[ri + k] * a[rj + k];
        a[ri + j] = s / a[rj + j];
      }
    }
    // 3. trailing update of the lower triangle: A[i][j] -= panel_i · panel_j for k1 <= j <= i
    for (let i0 = k1; i0 < n; i0 += BLOCK) {
      const i1 = Math.min(n, i0 + BLOCK);
      for (let j0 = k1; j0 < i1; j0 += BLOCK) {
        const j1 = Math.min(n, j0 + BLOCK);
        for (let i = i0; i < i1; i++) {
          const ri = i * n;
          const jEnd = Math.min(j1, i + 1);
          for (let j = j0; j < jEnd; j++) {
            const rj = j * n;
            let s0 = 0;
            let s1 = 0;
            let k = k0;
            for (; k + 1 < k1; k += 2) {
              s0 += a[ri + k] * a[rj + k];
              s1 += a[ri + k + 1] * a[rj + k + 1];
            }
            if (k < k1) s0 += a[ri + k] * a[rj + k];
            a[ri + j] -= s0 + s1;
          }
        }
      }
    }
  }
  for (let i = 0; i < n; i++) a.fill(0, i * n + i + 1, (i + 1) * n);
  return -1;
}

/** Eigen-decomposition of a symmetric matrix: eigenvalues ascending (as numpy.linalg.eigh), vectors as columns. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const { EigenvalueDecomposition, Matrix } = ml();
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, a[i * n + j]);
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const vals = evd.realEigenvalues;
  const order = vals.map((_, i) => i).sort((x, y) => vals[x] - vals[y]);
  const v = evd.eigenvectorMatrix;
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = vals[src];
    for (let i = 0; i < n; i++) vectors[i * n + dst] = v.get(i, src);
  });
  return { values, vectors };
}

/** X -= Q (Qᵀ X): removes from the n×m block X its components in the span of the orthonormal n×c block Q. */
/** Qᵀ·X for the first c columns of Q (n rows, row stride qStride) and the first m columns of X (row stride xStride). */
function transposeTimes(
  q: Float64Array,
  qStride: number,
  c: number,
  x: Float64Array,
  xStride: number,
  m: number,
  n: number,
): Float64Array {
  const out = new Float64Array(c * m);
  for (let i = 0; i < n; i++) {
    const qi = i * qStride;
    const xi = i * xStride;
    for (let a = 0; a < c; a++) {
      const qa = q[qi + a];
      const ca = a * m;
      for (let j = 0; j < m; j++) out[ca + j] += qa * x[xi + j];
    }
  }
  return out;
}

function projectOut(x: Float64Array, m: number, q: Float64Array, stride: number, c: number, n: number): void {
  if (c === 0) return;
  const coef = transposeTimes(q, stride, c, x, m, m, n);
  for (let i = 0; i < n; i++) {
    const qi = i * stride;
    const xi = i * m;
    for (let a = 0; a < c; a++) {
      const qa = q[qi + a];
      const ca = a * m;
      for (let j = 0; j < m; j++) x[xi + j] -= qa * coef[ca + j];
    }
  }
}

/** Orthonormalises the columns of the n×m block X in place (Gram-Schmidt, twice); returns how many survive. */
function orthonormalizeBlock(x: Float64Array, n: number, m: number): number {
  let rank = 0;
  for (let c = 0; c < m; c++) {
    let norm0 = 0;
    for (let i = 0; i < n; i++) norm0 += x[i * m + c] ** 2;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < rank; p++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += x[i * m + p] * x[i * m + c];
        for (let i = 0; i < n; i++) x[i * m + c] -= d * x[i * m + p];
      }
    }
    let nrm = 0;
    for (let i = 0; i < n; i++) nrm += x[i * m + c] ** 2;
    if (!(nrm > 1e-24 * Math.max(1, norm0))) continue; // numerically dependent: dropped
    nrm = Math.sqrt(nrm);
    for (let i = 0; i < n; i++) x[i * m + rank] = x[i * m + c] / nrm;
    rank++;
  }
  return rank;
}

/**
 * The `k` largest eigenpairs of a symmetric positive semi-definite operator, by restarted block Krylov
 * iteration with Rayleigh-Ritz (each restart starts from the previous Ritz vectors). Used when the operator is
 * cheap (O(nodes) per product for tree taxonomies) and n is too large for a dense decomposition.
 * Returns eigenvalues ascending with matching eigenvector columns (n×k row-major), like the dense path's tail.
 */
export function topEigen(
  apply: (x: Float64Array, y: Float64Array) => void,
  n: number,
  k: number,
  options: { tol?: number; maxRestarts?: number; seed?: number } = {},
): { values: Float64Array; vectors: Float64Array; restarts: number; residual: number } {
  const tol = options.tol ?? 1e-13;
  const b = Math.min(n, k + Math.max(8, Math.ceil(k / 4)));
  const maxCols = Math.min(n, Math.max(2 * b, 6 * b));
  let rnd = options.seed ?? 12345;
  const random = () => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) | 0;
    return ((rnd >>> 8) / (1 << 24)) * 2 - 1;
  };
  let start = new Float64Array(n * b);
  for (let i = 0; i < start.length; i++) start[i] = random();
  let startCols = b;
  const xin = new Float64Array(n);
  const yout = new Float64Array(n);
  let residual = Infinity;
  for (let restart = 0; restart < (options.maxRestarts ?? 60); restart++) {
    const q = new Float64Array(n * maxCols);
    const sq = new Float64Array(n * maxCols);
    let cols = 0;
    let block = start;
    let bw = startCols;
    while (cols < maxCols) {
      const take = Math.min(bw, maxCols - cols);
      const x = new Float64Array(n * take);
      for (let i = 0; i < n; i++) for (let c = 0; c < take; c++) x[i * take + c] = block[i * bw + c];
      projectOut(x, take, q, maxCols, cols, n);
      projectOut(x, take, q, maxCols, cols, n);
      const r = orthonormalizeBlock(x, n, take);
      if (r === 0) break;
      const next = new Float64Array(n * r);
      for (let c = 0; c < r; c++) {
        for (let i = 0; i < n; i++) {
          xin[i] = x[i * take + c];
          q[i * maxCols + cols + c] = xin[i];
        }
        apply(xin, yout);
        for (let i = 0; i < n; i++) {
          sq[i * maxCols + cols + c] = yout[i];
          next[i * r + c] = yout[i];
        }
      }
      cols += r;
      block = next;
      bw = r;
    }
    // Rayleigh-Ritz: T = Qᵀ S Q
    const t = transposeTimes(q, maxCols, cols, sq, maxCols, cols, n);
    for (let a = 0; a < cols; a++) {
      for (let c = a + 1; c < cols; c++) t[a * cols + c] = t[c * cols + a] = (t[a * cols + c] + t[c * cols + a]) / 2;
    }
    const { values, vectors } = symmetricEigen(t, cols);
    const nb = Math.min(b, cols);
    const ritz = new Float64Array(n * nb);
    const sritz = new Float64Array(n * nb);
    for (let i = 0; i < n; i++) {
      const qi = i * maxCols;
      for (let c = 0; c < nb; c++) {
        const src = cols - nb + c;
        let v = 0;
        let sv = 0;
        for (let a = 0; a < cols; a++) {
          const w = vectors[a * cols + src];
          v += q[qi + a] * w;
          sv += sq[qi + a] * w;
        }
        ritz[i * nb + c] = v;
        sritz[i * nb + c] = sv;
      }
    }
    const top = Math.max(values[cols - 1], 1e-300);
    residual = 0;
    for (let c = Math.max(0, nb - k); c < nb; c++) {
      const lam = values[cols - nb + c];
      let r = 0;
      for (let i = 0; i < n; i++) r += (sritz[i * nb + c] - lam * ritz[i * nb + c]) ** 2;
      residual = Math.max(residual, Math.sqrt(r) / top);
    }
    if (residual <= tol || cols >= n) {
      const kk = Math.min(k, nb);
      const outVals = new Float64Array(kk);
      const outVecs = new Float64Array(n * kk);
      for (let c = 0; c < kk; c++) {
        outVals[c] = values[cols - kk + c];
        for (let i = 0; i < n; i++) outVecs[i * kk + c] = ritz[i * nb + nb - kk + c];
      }
      return { values: outVals, vectors: outVecs, restarts: restart, residual };
    }
    start = ritz;
    startCols = nb;
  }
  throw new Error(`eigen-solver did not converge (relative residual ${residual.toExponential(2)})`);
}

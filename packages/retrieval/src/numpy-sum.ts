// Bit-exact emulation of the float64 summations the reference's metrics go through (numpy 1.24 / sklearn 1.2.1):
// `ndarray.sum()` is numpy's pairwise summation, applied per buffer block of 8192 elements and accumulated from 0.0.

const BLOCK = 8192;

function pairwise(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0.0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start],
      r1 = a[start + 1],
      r2 = a[start + 2],
      r3 = a[start + 3];
    let r4 = a[start + 4],
      r5 = a[start + 5],
      r6 = a[start + 6],
      r7 = a[start + 7];
    const full = n - (n % 8);
    let i = 8;
    for (; i < full; i += 8) {
      const p = start + i;
      r0 += a[p];
      r1 += a[p + 1];
      r2 += a[p + 2];
      r3 += a[p + 3];
      r4 += a[p + 4];
      r5 += a[p + 5];
      r6 += a[p + 6];
      r7 += a[p + 7];
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, start, n2) + pairwise(a, start + n2, n - n2);
}

/** `np.sum(a)` for a contiguous float64 vector. */
export function numpySum(a: ArrayLike<number>, start = 0, length = a.length - start): number {
  let acc = 0.0;
  for (let s = 0; s < length; s += BLOCK) acc += pairwise(a, start + s, Math.min(BLOCK, length - s));
  return acc;
}

/**
 * `np.sum` of a vector of `length` elements that are +0.0 except at the sorted positions `pos` (values `val`):
 * the same additions in the same grouping as numpySum, skipping the all-zero parts (x + 0.0 == x for x != -0.0).
 */
export function numpySumSparse(
  length: number,
  pos: ArrayLike<number>,
  val: ArrayLike<number>,
  count = pos.length,
): number {
  let acc = 0.0;
  let lo = 0;
  for (let s = 0; s < length; s += BLOCK) {
    const n = Math.min(BLOCK, length - s);
    let hi = lo;
    while (hi < count && pos[hi] < s + n) hi++;
    acc += sparsePairwise(pos, val, lo, hi, s, n);
    lo = hi;
  }
  return acc;
}

// the eight partial sums of a leaf (one leaf at a time: the recursion only reaches a leaf when it is done with the last)
const leaf = new Float64Array(8);

function sparsePairwise(
  pos: ArrayLike<number>,
  val: ArrayLike<number>,
  lo: number,
  hi: number,
  start: number,
  n: number,
): number {
  if (lo === hi) return 0.0;
  if (n < 8) {
    let res = 0.0;
    for (let i = lo; i < hi; i++) res += val[i];
    return res;
  }
  if (n <= 128) {
    const r = leaf;
    r.fill(0.0);
    const full = start + n - (n % 8);
    let i = lo;
    // start is a multiple of 8 (blocks and halves are), so the lane of position p is p & 7 (an integer op, no fmod)
    for (; i < hi && pos[i] < full; i++) r[(pos[i] - start) & 7] += val[i];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < hi; i++) res += val[i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  const mid = lowerBound(pos, lo, hi, start + n2);
  return sparsePairwise(pos, val, lo, mid, start, n2) + sparsePairwise(pos, val, mid, hi, start + n2, n - n2);
}

/** The first i in lo..hi with pos[i] >= x (pos ascending), hi if none. */
function lowerBound(pos: ArrayLike<number>, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (pos[m] < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** `np.trapz(y, dx=dx)` = `(dx * (y[1:] + y[:-1]) / 2.0).sum()`; `scratch` must hold y.length - 1 values. */
export function numpyTrapz(y: ArrayLike<number>, length: number, dx: number, scratch: Float64Array): number {
  if (length < 2) return 0.0;
  for (let i = 0; i + 1 < length; i++) scratch[i] = (dx * (y[i + 1] + y[i])) / 2.0;
  return numpySum(scratch, 0, length - 1);
}

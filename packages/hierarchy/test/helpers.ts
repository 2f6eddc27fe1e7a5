import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fixturePath } from '@semembed/test-fixtures';

export const FIX = join(import.meta.dirname, 'fixtures');
export const TAX = {
  cifar: { file: fixturePath('cvjena/cifar.parent-child.txt'), isA: false },
  cub_balanced: { file: join(FIX, 'taxonomies', 'cub_balanced.parent-child.txt'), isA: false },
  nab: { file: join(FIX, 'taxonomies', 'nab.hierarchy.txt'), isA: true },
} as const;
export type TaxName = keyof typeof TAX;

/** Reference outputs that other packages' tests read too: their one copy is in @semembed/test-fixtures. */
const SHARED_REF = new Set(['hierarchies/cifar.json']);

export function refJson<T = Record<string, unknown>>(rel: string): T {
  const p = SHARED_REF.has(rel) ? fixturePath(`cvjena/reference/${rel}`) : join(FIX, 'reference', rel);
  const buf = readFileSync(p);
  return JSON.parse((p.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8')) as T;
}

export function flat(rows: (number | null)[][]): Float64Array {
  const out = new Float64Array(rows.length * rows[0].length);
  rows.forEach((r, i) => r.forEach((v, k) => (out[i * r.length + k] = v === null ? Number.NaN : v)));
  return out;
}

/** The n x n table of `pair(i, j)` over every pair of rows (gram and pdist fill theirs with it). */
function pairTable(n: number, pair: (i: number, j: number) => number): Float64Array {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j] = pair(i, j);
  return g;
}

/** Dot products of every pair of the n rows (d values each) of e. */
export function gram(e: Float64Array, n: number, d: number): Float64Array {
  return pairTable(n, (i, j) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += e[i * d + k] * e[j * d + k];
    return s;
  });
}

/** Euclidean distances between every pair of the n rows (d values each) of e. */
export function pdist(e: Float64Array, n: number, d: number): Float64Array {
  return pairTable(n, (i, j) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += (e[i * d + k] - e[j * d + k]) ** 2;
    return Math.sqrt(s);
  });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

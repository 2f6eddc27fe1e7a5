// FAISS indices from factory strings (HNSW32, IVF1024,Flat, IVF256,PQ16, Flat, ...), saved/loaded with a JSON
// sidecar, and their recall against the exact flat index.
import { readFileSync } from 'node:fs';
import { writeFileAtomic, writeViaTempSync } from '@semembed/formats';
import { loadFaiss, METRIC_INNER_PRODUCT, METRIC_L2, type FaissIndex, type FaissModule } from './faiss.js';
import { normalizeRows, toFloat32, type Features } from './search.js';
import { RetrievalError } from './errors.js';

export interface IndexMeta {
  format: 'semembed-faiss-index/1';
  factory: string;
  metric: 'l2' | 'ip';
  normalize: boolean;
  dim: number;
  n: number;
  labels?: (number | string)[];
}

function faiss(): FaissModule {
  const { module, error } = loadFaiss();
  if (!module) throw new RetrievalError(`FAISS is not available: ${error}`);
  return module;
}

/** Builds (trains if needed, adds) an index; IP metric on normalised rows when `normalize`. */
export function buildIndex(
  features: Features,
  dim: number,
  options: { factory?: string; normalize?: boolean; trainSize?: number } = {},
): { index: FaissIndex; meta: IndexMeta } {
  const factory = options.factory ?? 'Flat';
  const x = toFloat32(options.normalize ? normalizeRows(features, dim) : features);
  const n = x.length / dim;
  let index: FaissIndex;
  try {
    index = faiss().Index.fromFactory(dim, factory, options.normalize ? METRIC_INNER_PRODUCT : METRIC_L2);
  } catch (err) {
    throw new RetrievalError(`--factory ${JSON.stringify(factory)}: FAISS cannot build it (${(err as Error).message})`);
  }
  if (!index.isTrained()) {
    const m = Math.min(n, options.trainSize ?? n);
    try {
      index.trainFloat32(x.subarray(0, m * dim));
    } catch (err) {
      throw new RetrievalError(`--factory ${factory}: training on ${m} vectors failed (${(err as Error).message})`);
    }
  }
  index.addFloat32(x);
  return {
    index,
    meta: {
      format: 'semembed-faiss-index/1',
      factory,
      metric: options.normalize ? 'ip' : 'l2',
      normalize: !!options.normalize,
      dim,
      n,
    },
  };
}

/** Writes the index (FAISS format) and `<path>.json` (the sidecar), each through a temp file + rename. */
export function saveIndex(index: FaissIndex, meta: IndexMeta, path: string): void {
  try {
    writeViaTempSync(path, (tmp) => index.write(tmp));
  } catch (err) {
    throw new RetrievalError(`${path}: cannot write the index (${(err as Error).message})`);
  }
  writeFileAtomic(`${path}.json`, JSON.stringify(meta) + '\n');
}

export function loadIndex(path: string): { index: FaissIndex; meta: IndexMeta } {
  let meta: IndexMeta;
  try {
    meta = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as IndexMeta;
  } catch (err) {
    throw new RetrievalError(`${path}.json: cannot read the index sidecar (${(err as Error).message})`);
  }
  if (meta.format !== 'semembed-faiss-index/1') throw new RetrievalError(`${path}.json: not a semembed index sidecar`);
  let index: FaissIndex;
  try {
    index = faiss().Index.read(path);
  } catch (err) {
    throw new RetrievalError(`${path}: cannot read the FAISS index (${(err as Error).message})`);
  }
  if (index.getDimension() !== meta.dim || index.ntotal() !== meta.n)
    throw new RetrievalError(
      `${path}: the index (${index.ntotal()} x ${index.getDimension()}) does not match its sidecar (${meta.n} x ${meta.dim})`,
    );
  return { index, meta };
}

/**
 * recall@k of `index` against the exact flat index on the given queries: the fraction of the exact k nearest
 * neighbours that the index returns among its k.
 */
export function recallAtK(index: FaissIndex, exact: FaissIndex, queries: Float32Array, k: number): number {
  const nq = queries.length / exact.getDimension();
  const a = index.searchFloat32(queries, k).labels;
  const b = exact.searchFloat32(queries, k).labels;
  let hits = 0;
  for (let q = 0; q < nq; q++) {
    const truth = new Set(b.subarray(q * k, (q + 1) * k));
    for (let j = 0; j < k; j++) if (truth.has(a[q * k + j])) hits++;
  }
  return hits / (nq * k);
}

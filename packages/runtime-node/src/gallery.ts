import { existsSync, readFileSync } from 'node:fs';
import { readNpy } from '@semembed/formats';
import { RuntimeNodeError } from './errors.js';
import { topK, type GalleryMatch } from '@semembed/model';

export type { GalleryMatch } from '@semembed/model';

export interface Gallery {
  readonly size: number;
  readonly dim: number;
  /** Which search ran: 'faiss' (via @semembed/retrieval) or 'exact' (brute-force inner product here). */
  readonly engine: string;
  search(query: Float32Array, k: number): GalleryMatch[];
}

export interface GalleryFiles {
  /** features .npy (n x dim float32), as `semembed embed` writes. */
  features: string;
  /** ids / labels text files, one line per row (default: <features>.ids.txt / <features>.labels.txt when present). */
  ids?: string;
  labels?: string;
}

function readLines(path: string, n: number, what: string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== n)
    throw new RuntimeNodeError(`${path}: ${lines.length} ${what}, but the features have ${n} rows`);
  return lines;
}

export function sidePath(features: string, kind: 'ids' | 'labels'): string {
  return features.replace(/\.npy$/, '') + `.${kind}.txt`;
}

/** A gallery searched exactly (inner product over all rows); fine up to ~1e5 rows on a CPU. */
export class ExactGallery implements Gallery {
  readonly engine = 'exact';
  constructor(
    readonly features: Float32Array,
    readonly size: number,
    readonly dim: number,
    readonly ids?: string[],
    readonly labels?: string[],
  ) {}

  static load(files: GalleryFiles): ExactGallery {
    if (!existsSync(files.features)) throw new RuntimeNodeError(`--gallery ${files.features}: no such file`);
    const arr = readNpy(files.features);
    if (arr.shape.length !== 2)
      throw new RuntimeNodeError(
        `--gallery ${files.features}: expected a 2-D features array, got shape [${arr.shape}]`,
      );
    const [n, dim] = arr.shape;
    const data = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data as ArrayLike<number>);
    // A NaN row would rank first or last for every query (FAISS and the JS search alike): refuse the file.
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new RuntimeNodeError(
        `--gallery ${files.features}: row ${Math.floor(bad / dim)} has a non-finite value (${data[bad]}); re-extract the features`,
      );
    }
    const idsPath = files.ids ?? sidePath(files.features, 'ids');
    const labelsPath = files.labels ?? sidePath(files.features, 'labels');
    const ids = existsSync(idsPath) ? readLines(idsPath, n, 'ids') : undefined;
    const labels = existsSync(labelsPath) ? readLines(labelsPath, n, 'labels') : undefined;
    return new ExactGallery(data, n, dim, ids, labels);
  }

  search(query: Float32Array, k: number): GalleryMatch[] {
    if (query.length !== this.dim)
      throw new RuntimeNodeError(`query has ${query.length} dimensions, the gallery ${this.dim}`);
    const sims = new Float32Array(this.size);
    for (let r = 0; r < this.size; r++) {
      let s = 0;
      const off = r * this.dim;
      for (let j = 0; j < this.dim; j++) s += this.features[off + j] * query[j];
      sims[r] = s;
    }
    return topK(sims, k).map(([index, similarity], rank) => ({
      rank: rank + 1,
      index,
      ...(this.ids && { id: this.ids[index] }),
      ...(this.labels && { label: this.labels[index] }),
      similarity,
    }));
  }
}

type Retrieval = typeof import('@semembed/retrieval');
type FaissIndex = import('@semembed/retrieval').FaissIndex;

/** @semembed/retrieval with a working FAISS, or why not. */
async function retrieval(): Promise<{ mod?: Retrieval; why?: string }> {
  try {
    const mod = await import('@semembed/retrieval');
    const { error } = mod.loadFaiss();
    return error ? { why: error } : { mod };
  } catch (err) {
    return { why: (err as Error).message.split('\n')[0] };
  }
}

/**
 * A gallery searched by FAISS through @semembed/retrieval: a flat inner-product index over the features
 * (exact), or an index file built by `semembed index build` (e.g. HNSW32: approximate).
 */
export class FaissGallery implements Gallery {
  readonly engine = 'faiss';
  constructor(
    private readonly index: FaissIndex,
    private readonly metric: 'ip' | 'l2',
    readonly size: number,
    readonly dim: number,
    private readonly ids?: (string | number)[],
    private readonly labels?: (string | number)[],
  ) {}

  search(query: Float32Array, k: number): GalleryMatch[] {
    if (query.length !== this.dim)
      throw new RuntimeNodeError(`query has ${query.length} dimensions, the gallery ${this.dim}`);
    const { distances, labels } = this.index.searchFloat32(query, Math.min(k, this.size));
    const out: GalleryMatch[] = [];
    for (let i = 0; i < labels.length; i++) {
      const index = labels[i];
      if (index < 0) continue; // FAISS pads with -1 when an approximate index finds fewer than k
      // For unit vectors |a-b|^2 = 2 - 2<a,b>: both metrics give the dot product.
      const similarity = this.metric === 'ip' ? distances[i] : 1 - distances[i] / 2;
      out.push({
        rank: out.length + 1,
        index,
        ...(this.ids && { id: String(this.ids[index]) }),
        ...(this.labels && { label: String(this.labels[index]) }),
        similarity,
      });
    }
    return out;
  }
}

/**
 * Opens a gallery: a features .npy (searched with a flat FAISS inner-product index when @semembed/retrieval
 * and FAISS load, exactly in JS otherwise) or a FAISS index file with its `.json` sidecar (needs FAISS).
 */
export async function loadGallery(spec: string | GalleryFiles, log?: (msg: string) => void): Promise<Gallery> {
  const files = typeof spec === 'string' ? { features: spec } : spec;
  if (!existsSync(files.features)) throw new RuntimeNodeError(`--gallery ${files.features}: no such file`);
  const r = await retrieval();
  if (!files.features.endsWith('.npy')) {
    if (!r.mod)
      throw new RuntimeNodeError(
        `--gallery ${files.features}: a FAISS index needs @semembed/retrieval with FAISS (${r.why})`,
      );
    const { index, meta } = r.mod.loadIndex(files.features);
    if (!meta.normalize)
      log?.(`gallery ${files.features}: index built without --norm; similarities assume unit-length features`);
    const idsPath = files.ids ?? `${files.features}.ids.txt`;
    const ids = existsSync(idsPath) ? readLines(idsPath, meta.n, 'ids') : undefined;
    return new FaissGallery(index, meta.metric, meta.n, meta.dim, ids, meta.labels);
  }
  const exact = ExactGallery.load(files);
  if (!r.mod) {
    log?.(`gallery ${files.features}: FAISS unavailable (${r.why}); searching exactly in JS`);
    return exact;
  }
  const { index } = r.mod.buildIndex(exact.features, exact.dim, { factory: 'Flat', normalize: true });
  return new FaissGallery(index, 'ip', exact.size, exact.dim, exact.ids, exact.labels);
}

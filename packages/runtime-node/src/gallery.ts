import { existsSync, readFileSync } from 'node:fs';
import { readNpy } from '@semembed/formats';
import { RuntimeNodeError } from './errors.js';
import { topK } from './model.js';

export interface GalleryMatch {
  rank: number;
  /** Row in the gallery features. */
  index: number;
  id?: string;
  label?: string;
  /** Dot product of the L2-normalised embeddings: the predicted semantic similarity of the two classes. */
  similarity: number;
}

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
  if (lines.length !== n) throw new RuntimeNodeError(`${path}: ${lines.length} ${what}, but the features have ${n} rows`);
  return lines;
}

export function sidePath(features: string, kind: 'ids' | 'labels'): string {
  return features.replace(/\.npy$/, '') + `.${kind}.txt`;
}

/** A gallery searched exactly (inner product over all rows); fine up to ~1e5 rows on a CPU. */
export class ExactGallery implements Gallery {
  readonly engine = 'exact';
  constructor(
    private readonly features: Float32Array,
    readonly size: number,
    readonly dim: number,
    private readonly ids?: string[],
    private readonly labels?: string[],
  ) {}

  static load(files: GalleryFiles): ExactGallery {
    if (!existsSync(files.features)) throw new RuntimeNodeError(`--gallery ${files.features}: no such file`);
    const arr = readNpy(files.features);
    if (arr.shape.length !== 2) throw new RuntimeNodeError(`--gallery ${files.features}: expected a 2-D features array, got shape [${arr.shape}]`);
    const [n, dim] = arr.shape;
    const data = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data as ArrayLike<number>);
    const idsPath = files.ids ?? sidePath(files.features, 'ids');
    const labelsPath = files.labels ?? sidePath(files.features, 'labels');
    const ids = existsSync(idsPath) ? readLines(idsPath, n, 'ids') : undefined;
    const labels = existsSync(labelsPath) ? readLines(labelsPath, n, 'labels') : undefined;
    return new ExactGallery(data, n, dim, ids, labels);
  }

  search(query: Float32Array, k: number): GalleryMatch[] {
    if (query.length !== this.dim) throw new RuntimeNodeError(`query has ${query.length} dimensions, the gallery ${this.dim}`);
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

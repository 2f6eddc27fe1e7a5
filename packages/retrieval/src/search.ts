// Exact nearest-neighbour distances for evaluation: FAISS flat indices (BLAS) when faiss-node loads, else a
// batched float64 matrix product in JS (with a warning). Distances follow the reference's pairwise_retrieval:
// squared Euclidean |a|^2 + |b|^2 - 2ab, or, with normalisation, -<a, b> of L2-normalised rows.
import { loadFaiss, type FaissIndex } from './faiss.js';
import { RetrievalError } from './errors.js';
import { rowsPerBlasCall } from './blas-calls.js';

export type Features = Float32Array | Float64Array;
export type EngineChoice = 'auto' | 'faiss' | 'exact';

export interface SearcherOptions {
  /** L2-normalise the rows and rank by -dot (the reference's --norm); default false: squared L2. */
  normalize?: boolean;
  /**
   * Rank by -<a, b> of the rows as given (no normalisation), e.g. expected similarities; implies no squared L2.
   */
  innerProduct?: boolean;
  /**
   * 'auto' (default): keeps the features' precision, as the reference's numpy does: float64 features go to the
   * exact float64 engine, float32 ones to FAISS (exact with a warning if it does not load); 'faiss': FAISS or an
   * error (float64 input is cast to float32); 'exact': JS float64.
   */
  engine?: EngineChoice;
  /** Called with a one-line warning when 'auto' falls back to the exact JS engine. */
  warn?: (message: string) => void;
}

/** Row-wise L2 normalisation without epsilon (as the reference: a zero row becomes NaN and is rejected). */
export function normalizeRows(x: Features, dim: number, where = 'features'): Features {
  const out = x instanceof Float32Array ? new Float32Array(x.length) : new Float64Array(x.length);
  const n = x.length / dim;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[i * dim + j] * x[i * dim + j];
    const norm = Math.sqrt(s);
    if (!(norm > 0)) throw new RetrievalError(`${where}: row ${i} has norm 0 and cannot be normalised`);
    for (let j = 0; j < dim; j++) out[i * dim + j] = x[i * dim + j] / norm;
  }
  return out;
}

export class Searcher {
  readonly engine: 'faiss' | 'exact';
  /** Precision the distances are computed in: float32 (FAISS) or float64 (exact engine). */
  readonly precision: 'float32' | 'float64';
  readonly n: number;
  /** Query rows per BLAS distance call (blas-calls.ts); the native kernel makes the same calls. */
  readonly blasRows: number;
  private readonly gallery: Features;
  private readonly index?: FaissIndex;
  private readonly sq?: Float64Array;
  private buffer?: Float32Array | Float64Array;

  constructor(
    gallery: Features,
    readonly dim: number,
    readonly options: SearcherOptions = {},
  ) {
    this.n = gallery.length / dim;
    if (!Number.isInteger(this.n))
      throw new RetrievalError(`gallery length ${gallery.length} is not a multiple of dim ${dim}`);
    this.gallery = options.normalize ? normalizeRows(gallery, dim, 'gallery') : gallery;
    const choice = options.engine ?? 'auto';
    let engine: 'faiss' | 'exact' = 'exact';
    const ip = options.normalize || options.innerProduct;
    if (choice === 'faiss' || (choice === 'auto' && gallery instanceof Float32Array)) {
      const { module, error } = loadFaiss();
      if (module) {
        this.index = ip ? new module.IndexFlatIP(dim) : new module.IndexFlatL2(dim);
        this.index.addFloat32(toFloat32(this.gallery));
        engine = 'faiss';
      } else if (choice === 'faiss') {
        throw new RetrievalError(`FAISS is not available: ${error}`);
      } else {
        (options.warn ?? ((m: string) => console.warn(m)))(
          `semembed: warning: FAISS did not load (${error}); using the exact JS search (slower)`,
        );
      }
    }
    this.engine = engine;
    this.precision = engine === 'faiss' ? 'float32' : 'float64';
    this.blasRows = rowsPerBlasCall(this.n, engine === 'faiss' ? 4 : 8);
    if (engine === 'exact' && !ip) {
      this.sq = new Float64Array(this.n);
      for (let i = 0; i < this.n; i++) this.sq[i] = sumSquares(this.gallery, i * dim, dim);
    }
  }

  /** The gallery rows the distances are computed from (normalised when normalize is set), in their precision. */
  galleryRows(): Features {
    if (this.precision === 'float32') return toFloat32(this.gallery);
    return this.gallery instanceof Float64Array ? this.gallery : Float64Array.from(this.gallery);
  }

  /** Queries are normalised like the gallery when normalize is set. */
  prepareQueries(queries: Features): Features {
    return this.options.normalize ? normalizeRows(queries, this.dim, 'queries') : queries;
  }

  /**
   * Distances (smaller = closer) of each prepared query to every gallery item, row-major nq x n:
   * float32 from FAISS (in calls of blasRows rows from the first query), float64 from the exact engine. With
   * `reuse`, the result lives in a buffer that the next call overwrites.
   */
  distanceRows(queries: Features, reuse: boolean | Float32Array | Float64Array = false): Float32Array | Float64Array {
    const { dim, n } = this;
    const nq = queries.length / dim;
    const size = nq * n;
    let target: Float32Array | Float64Array | undefined;
    if (typeof reuse !== 'boolean') {
      if (reuse.length < size || (this.index ? !(reuse instanceof Float32Array) : !(reuse instanceof Float64Array)))
        throw new RetrievalError(
          `distanceRows: the output must be a ${this.index ? 'Float32Array' : 'Float64Array'} of >= ${size} values`,
        );
      target = reuse;
    } else if (reuse) {
      if (!(this.buffer && this.buffer.length >= size))
        this.buffer = this.index ? new Float32Array(size) : new Float64Array(size);
      target = this.buffer;
    }
    if (this.index) {
      const out = target
        ? this.index.distanceRows(toFloat32(queries), target as Float32Array, this.blasRows).subarray(0, size)
        : this.index.distanceRows(toFloat32(queries), new Float32Array(size), this.blasRows);
      if (this.options.normalize || this.options.innerProduct) for (let i = 0; i < out.length; i++) out[i] = -out[i];
      return out;
    }
    const out = target ? (target as Float64Array).subarray(0, size) : new Float64Array(size);
    const g = this.gallery;
    const B = 64; // gallery block kept hot in cache across the queries of a batch
    for (let b0 = 0; b0 < n; b0 += B) {
      const b1 = Math.min(n, b0 + B);
      for (let q = 0; q < nq; q++) {
        const qo = q * dim;
        const sqq = this.sq ? sumSquares(queries, qo, dim) : 0;
        for (let j = b0; j < b1; j++) {
          const go = j * dim;
          let dot = 0;
          for (let t = 0; t < dim; t++) dot += queries[qo + t] * g[go + t];
          out[q * n + j] = this.sq ? sqq + this.sq[j] - 2 * dot : -dot;
        }
      }
    }
    return out;
  }
}

function sumSquares(x: Features, off: number, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += x[off + t] * x[off + t];
  return s;
}

export function toFloat32(x: Features): Float32Array {
  return x instanceof Float32Array ? x : Float32Array.from(x);
}

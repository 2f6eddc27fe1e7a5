import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import {
  FormatError,
  encodePickle,
  parsePickle,
  toFloat64,
  writeFileAtomic,
  writeViaTempSync,
  type NdArray,
} from '@semembed/formats';
import { HierarchyError } from './errors.js';
import type { ClassId } from './ids.js';

export const EMBEDDING_FORMAT = 'semembed-class-embedding/1';

/** Target vectors for the classes of a taxonomy, one row per class. */
export interface ClassEmbedding {
  method: string;
  ind2label: ClassId[];
  label2ind: Map<ClassId, number>;
  /** rows × dim, row-major */
  embedding: Float64Array;
  rows: number;
  dim: number;
  /** The taxonomy file it was computed from, when known. */
  hierarchy?: string;
  /** Anything else the file carried (num_dim, norm, deviations, flags, ...). */
  meta?: Record<string, unknown>;
}

/**
 * The file contents of a computed class embedding (computeClassEmbedding's result): its classes in their order,
 * label2ind their positions, plus what the caller records beside them (taxonomy file, flags).
 */
export function classEmbeddingOf(
  res: Pick<ClassEmbedding, 'method' | 'embedding' | 'rows' | 'dim'> & { classes: ClassId[] },
  extra: Pick<ClassEmbedding, 'hierarchy' | 'meta'> = {},
): ClassEmbedding {
  const { method, classes, embedding, rows, dim } = res;
  return {
    method,
    ind2label: classes,
    label2ind: new Map(classes.map((c, i) => [c, i])),
    embedding,
    rows,
    dim,
    ...extra,
  };
}

/**
 * Writes a class-embedding file: a pickle like the reference's when the name ends in .pickle/.pkl, else our JSON
 * file: {format, method, ind2label, label2ind, embedding: number[][], ...meta}.
 * Rows are streamed to a temporary file that replaces the target only when complete (8142 classes is ~0.7 GB
 * of text, more than a JS string may hold).
 */
export function writeClassEmbedding(path: string, emb: ClassEmbedding): void {
  if (isPicklePath(path)) {
    writeFileAtomic(
      path,
      encodePickle({
        ind2label: emb.ind2label,
        label2ind: emb.label2ind,
        embedding: { dtype: 'float64', shape: [emb.rows, emb.dim], data: emb.embedding },
      }),
    );
    return;
  }
  // Streamed to @semembed/formats' temporary, which replaces the target only when complete and flushed.
  writeViaTempSync(path, (tmp) => {
    const fd = openSync(tmp, 'w');
    try {
      let buffer = '';
      const put = (s: string) => {
        buffer += s;
        if (buffer.length > 1 << 20) {
          writeSync(fd, buffer);
          buffer = '';
        }
      };
      const head: Record<string, unknown> = {
        format: EMBEDDING_FORMAT,
        method: emb.method,
        ...(emb.hierarchy !== undefined ? { hierarchy: emb.hierarchy } : {}),
        ...(emb.meta ?? {}),
        rows: emb.rows,
        dim: emb.dim,
        ind2label: emb.ind2label,
        label2ind: Object.fromEntries([...emb.label2ind].map(([k, v]) => [String(k), v])),
      };
      put(JSON.stringify(head).slice(0, -1));
      put(',"embedding":[');
      for (let i = 0; i < emb.rows; i++) {
        const row = emb.embedding.subarray(i * emb.dim, (i + 1) * emb.dim);
        put((i > 0 ? ',\n' : '\n') + JSON.stringify(Array.from(row)));
      }
      put(']}\n');
      writeSync(fd, buffer);
    } finally {
      closeSync(fd);
    }
  });
}

/** `.pickle` / `.pkl` outputs are written as the reference writes them (a dict with a numpy array), for Python users. */
export function isPicklePath(path: string): boolean {
  return /\.(pickle|pkl)$/i.test(path);
}

function fromRows(rows: unknown, source: string): { data: Float64Array; rows: number; dim: number } {
  if (!Array.isArray(rows) || rows.length === 0)
    throw new HierarchyError(`${source}: 'embedding' must be a non-empty list of rows`);
  const dim = (rows[0] as unknown[]).length;
  const data = new Float64Array(rows.length * dim);
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== dim)
      throw new HierarchyError(
        `${source}: embedding row ${i} has ${Array.isArray(r) ? r.length : 'no'} values, expected ${dim}`,
      );
    r.forEach((v, k) => {
      data[i * dim + k] = v === null ? Number.NaN : Number(v);
    });
  });
  return { data, rows: rows.length, dim };
}

/** Reads our JSON files, the reference fixtures' JSON, and the reference's pickles (parsed, never executed). */
export function readClassEmbedding(path: string): ClassEmbedding {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HierarchyError(
      `${path}: cannot read the class embedding file (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`,
    );
  }
  if (buf.length === 0) throw new HierarchyError(`${path}: the class embedding file is empty`);
  const first = buf.subarray(0, 64).toString('latin1').trimStart()[0];
  let ind2label: ClassId[];
  let data: { data: Float64Array; rows: number; dim: number };
  let method = 'unknown';
  let hierarchy: string | undefined;
  let meta: Record<string, unknown> = {};
  if (first === '{') {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(buf.toString('utf8'));
    } catch (err) {
      throw new HierarchyError(`${path}: not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(doc.ind2label))
      throw new HierarchyError(`${path}: missing 'ind2label' (not a class embedding file)`);
    ind2label = doc.ind2label as ClassId[];
    data = fromRows(doc.embedding, path);
    method = typeof doc.method === 'string' ? doc.method : method;
    hierarchy =
      typeof doc.hierarchy === 'string'
        ? doc.hierarchy
        : typeof doc.hierarchy_file === 'string'
          ? (doc.hierarchy_file as string)
          : undefined;
    const { embedding: _e, ind2label: _i, label2ind: _l, ...rest } = doc;
    meta = rest;
  } else {
    let value: unknown;
    try {
      value = parsePickle(buf, path);
    } catch (err) {
      if (err instanceof FormatError) throw new HierarchyError(err.message);
      throw err;
    }
    if (!(value instanceof Map) || !value.has('embedding') || !value.has('ind2label')) {
      throw new HierarchyError(
        `${path}: the pickle is not a class embedding (expected a dict with 'embedding' and 'ind2label')`,
      );
    }
    const arr = value.get('embedding') as NdArray;
    if (!arr || !Array.isArray(arr.shape) || arr.shape.length !== 2)
      throw new HierarchyError(`${path}: 'embedding' is not a 2-d numpy array`);
    data = { data: toFloat64(arr), rows: arr.shape[0], dim: arr.shape[1] };
    ind2label = (value.get('ind2label') as unknown[]).map((l) => (typeof l === 'bigint' ? Number(l) : (l as ClassId)));
    method = 'pickle';
  }
  if (ind2label.length !== data.rows) {
    throw new HierarchyError(`${path}: ${ind2label.length} labels in 'ind2label' but ${data.rows} embedding rows`);
  }
  const label2ind = new Map<ClassId, number>();
  ind2label.forEach((l, i) => label2ind.set(l, i));
  return { method, ind2label, label2ind, embedding: data.data, rows: data.rows, dim: data.dim, hierarchy, meta };
}

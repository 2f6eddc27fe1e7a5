// Reading features and labels for evaluation: .npy (float rows / integer labels), the reference's pickled
// feature dumps ({'feat': {id: vector}} or {id: vector}), text label files (one label per line).
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { readNpy, readPickle, type NdArray } from '@semembed/formats';
import { RetrievalError } from './errors.js';
import type { Features } from './search.js';

export interface FeatureSet {
  /** n x dim, row-major; float32 from .npy float32 / pickles of float32, else float64. */
  data: Features;
  n: number;
  dim: number;
  /** Image id per row, when the file carries them (pickled dumps); rows are then sorted by id. */
  ids?: (number | string)[];
}

function nonEmpty(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new RetrievalError(`${path}: no such file`);
  }
  if (size === 0) throw new RetrievalError(`${path}: the file is empty`);
}

function floatRows(arr: NdArray, path: string): Features {
  if (arr.data instanceof Float32Array || arr.data instanceof Float64Array) return arr.data;
  if (arr.data instanceof BigInt64Array || arr.data instanceof BigUint64Array)
    return Float64Array.from(arr.data as ArrayLike<bigint> & Iterable<bigint>, Number);
  return Float64Array.from(arr.data as ArrayLike<number>);
  void path;
}

function checkFinite(data: Features, dim: number, path: string): void {
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i]))
      throw new RetrievalError(
        `${path}: feature row ${Math.floor(i / dim)}, column ${i % dim} is ${data[i]} (not finite)`,
      );
}

function isNdArray(v: unknown): v is NdArray {
  return typeof v === 'object' && v !== null && 'shape' in v && 'data' in v && 'dtype' in v;
}

/** Features from .npy (2-D) or a pickled dump ({'feat': {id: vector}} or {id: vector}). */
export function readFeatures(path: string): FeatureSet {
  nonEmpty(path);
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    const arr = readNpy(path);
    if (arr.shape.length !== 2)
      throw new RetrievalError(
        `${path}: features must be a 2-D array (rows = samples), got shape [${arr.shape.join(', ')}]`,
      );
    const [n, dim] = arr.shape;
    if (n === 0 || dim === 0) throw new RetrievalError(`${path}: no features (shape [${arr.shape.join(', ')}])`);
    const data = floatRows(arr, path);
    checkFinite(data, dim, path);
    return { data, n, dim };
  }
  let obj = readPickle(path);
  if (obj instanceof Map && obj.has('feat')) obj = obj.get('feat');
  if (!(obj instanceof Map))
    throw new RetrievalError(
      `${path}: expected a pickled dict {'feat': {id: vector}} or {id: vector} (or a .npy file)`,
    );
  if (obj.size === 0) throw new RetrievalError(`${path}: the feature dump holds no features`);
  const entries = [...obj.entries()].map(([id, v], row) => {
    const key = typeof id === 'bigint' ? Number(id) : id;
    if (typeof key !== 'number' && typeof key !== 'string')
      throw new RetrievalError(`${path}: feature id of row ${row} is not a number or string`);
    if (!isNdArray(v)) throw new RetrievalError(`${path}: the feature of id ${String(key)} is not a numpy array`);
    return { id: key, v };
  });
  const dim = entries[0].v.shape.reduce((a, b) => a * b, 1);
  const f32 = entries.every((e) => e.v.data instanceof Float32Array);
  const data = f32 ? new Float32Array(entries.length * dim) : new Float64Array(entries.length * dim);
  // rows in id order, so that row i is image i (the reference looks labels up by id)
  entries.sort((a, b) =>
    typeof a.id === 'number' && typeof b.id === 'number' ? a.id - b.id : String(a.id) < String(b.id) ? -1 : 1,
  );
  entries.forEach((e, i) => {
    const size = e.v.shape.reduce((a, b) => a * b, 1);
    if (size !== dim)
      throw new RetrievalError(`${path}: feature of id ${String(e.id)} has ${size} values, the first one ${dim}`);
    data.set(floatRows(e.v, path), i * dim);
  });
  checkFinite(data, dim, path);
  return { data, n: entries.length, dim, ids: entries.map((e) => e.id) };
}

/**
 * Labels in feature-row order: .npy of integers, or text with one label per line (blank lines skipped;
 * converted with `parse`, e.g. int unless --str_ids).
 */
export function readLabels(path: string, parse: (text: string) => number | string): (number | string)[] {
  nonEmpty(path);
  if (extname(path).toLowerCase() === '.npy') {
    const arr = readNpy(path);
    if (arr.shape.length !== 1 && !(arr.shape.length === 2 && arr.shape[1] === 1))
      throw new RetrievalError(`${path}: labels must be a 1-D array, got shape [${arr.shape.join(', ')}]`);
    if (arr.data instanceof Float32Array || arr.data instanceof Float64Array)
      throw new RetrievalError(`${path}: labels must be integers, got dtype ${arr.dtype}`);
    const out = Array.from(arr.data as ArrayLike<number | bigint>, (v) => Number(v));
    if (out.length === 0) throw new RetrievalError(`${path}: no labels`);
    return out;
  }
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const out: (number | string)[] = [];
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t === '') return;
    try {
      out.push(parse(t));
    } catch (err) {
      throw new RetrievalError(`${path}, line ${i + 1}: ${(err as Error).message}`);
    }
  });
  if (out.length === 0) throw new RetrievalError(`${path}: no labels`);
  return out;
}

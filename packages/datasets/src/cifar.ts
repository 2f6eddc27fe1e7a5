import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parsePickle, type NdArray } from '@semembed/formats';
import { DatasetError } from './errors.js';
import type { RawSplit } from './idx.js';

const PIXELS = 32 * 32;
const IMAGE_BYTES = 3 * PIXELS;

export type CifarVariant = 10 | 100;

export interface CifarSplit extends RawSplit {
  /** CIFAR-100's 20 superclass labels (both layouts carry them). */
  coarseLabels?: Int32Array;
  layout: 'python' | 'binary';
  files: string[];
}

export const CIFAR_HOW_TO_GET =
  'Get it from https://www.cs.toronto.edu/~kriz/cifar.html (python or binary version), unpack it and pass ' +
  '--data_root to the folder holding the batch files (or the folder above it).';

function layoutFiles(v: CifarVariant, split: 'train' | 'test', layout: 'python' | 'binary'): string[] {
  if (v === 10) {
    const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}`) : ['test_batch'];
    return layout === 'python' ? names : names.map((n) => `${n}.bin`);
  }
  return [layout === 'python' ? split : `${split}.bin`];
}

/** Folders the official archives unpack to, tried below the given root. */
function subdirs(v: CifarVariant): string[] {
  return v === 10 ? ['', 'cifar-10-batches-py', 'cifar-10-batches-bin'] : ['', 'cifar-100-python', 'cifar-100-binary'];
}

/** Locates the batch files for one split in either official layout (python pickles preferred). */
export function locateCifar(
  root: string,
  v: CifarVariant,
  split: 'train' | 'test',
): { dir: string; layout: 'python' | 'binary'; files: string[] } {
  for (const sub of subdirs(v)) {
    const dir = sub ? join(root, sub) : root;
    for (const layout of ['python', 'binary'] as const) {
      const files = layoutFiles(v, split, layout).map((f) => join(dir, f));
      if (files.every((f) => existsSync(f) && statSync(f).isFile())) return { dir, layout, files };
    }
  }
  const expect = [...layoutFiles(v, split, 'python'), ...layoutFiles(v, split, 'binary')].join(', ');
  const where = existsSync(root)
    ? `CIFAR-${v} ${split} batches not found in ${root} or its ${subdirs(v).slice(1).join('/ or ')}/ folders (expected ${expect})`
    : `${root} does not exist`;
  throw new DatasetError(`${where}. ${CIFAR_HOW_TO_GET}`);
}

/** Looks a key up in a pickled dict whose keys are str (py2 pickles read as latin-1) or bytes (py3, protocol 2). */
function getKey(dict: Map<unknown, unknown>, key: string): unknown {
  if (dict.has(key)) return dict.get(key);
  for (const [k, v] of dict) {
    if (k instanceof Uint8Array && k.length === key.length && Buffer.from(k).toString('latin1') === key) return v;
  }
  return undefined;
}

function keyNames(dict: Map<unknown, unknown>): string {
  return [...dict.keys()]
    .map((k) => (k instanceof Uint8Array ? `b'${Buffer.from(k).toString('latin1')}'` : `'${String(k)}'`))
    .join(', ');
}

function toLabelArray(v: unknown, file: string, key: string): Int32Array {
  if (Array.isArray(v)) {
    const out = new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number' || !Number.isInteger(x))
        throw new DatasetError(`${file}: '${key}' entry ${i} is not an integer`);
      out[i] = x;
    }
    return out;
  }
  if (v && typeof v === 'object' && 'shape' in v && 'data' in v) {
    const a = v as NdArray;
    if (a.shape.length !== 1)
      throw new DatasetError(`${file}: '${key}' has shape [${a.shape.join(', ')}], expected a 1-D list`);
    const out = new Int32Array(a.shape[0]);
    for (let i = 0; i < out.length; i++) out[i] = Number(a.data[i]);
    return out;
  }
  throw new DatasetError(`${file}: '${key}' is not a list of labels`);
}

function checkLabels(labels: Int32Array, max: number, file: string, key: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0 || labels[i] >= max)
      throw new DatasetError(`${file}: ${key} ${i} is ${labels[i]}, outside 0..${max - 1}`);
  }
}

/** CHW planes (as CIFAR stores them) -> HWC. */
function planesToHwc(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
  for (let p = 0; p < PIXELS; p++) {
    const o = dstOff + p * 3;
    dst[o] = src[srcOff + p];
    dst[o + 1] = src[srcOff + PIXELS + p];
    dst[o + 2] = src[srcOff + 2 * PIXELS + p];
  }
}

interface Part {
  data: Uint8Array;
  dataOffset: number;
  stride: number;
  count: number;
  labels: Int32Array;
  coarse?: Int32Array;
}

function readPicklePart(file: string, v: CifarVariant): Part {
  let obj: unknown;
  try {
    obj = parsePickle(new Uint8Array(readFileSync(file)), file);
  } catch (e) {
    const msg = (e as Error).message;
    throw new DatasetError(msg.includes(file) ? msg : `${file}: not a readable CIFAR python batch (${msg})`);
  }
  if (!(obj instanceof Map))
    throw new DatasetError(`${file}: expected a pickled dict, found ${Array.isArray(obj) ? 'a list' : typeof obj}`);
  const data = getKey(obj, 'data') as NdArray | undefined;
  if (!data || typeof data !== 'object' || !('shape' in data))
    throw new DatasetError(`${file}: no 'data' array in the batch (keys: ${keyNames(obj)})`);
  if (data.dtype !== 'uint8') throw new DatasetError(`${file}: 'data' has dtype ${data.dtype}, expected uint8`);
  if (data.shape.length !== 2 || data.shape[1] !== IMAGE_BYTES) {
    throw new DatasetError(
      `${file}: 'data' has shape [${data.shape.join(', ')}], expected [N, ${IMAGE_BYTES}] (32x32x3 planes)`,
    );
  }
  const labelKey = v === 10 ? 'labels' : 'fine_labels';
  const rawLabels = getKey(obj, labelKey);
  if (rawLabels === undefined)
    throw new DatasetError(
      `${file}: no '${labelKey}' in the batch (keys: ${keyNames(obj)})` +
        (v === 10 && getKey(obj, 'fine_labels') !== undefined ? ' - this looks like CIFAR-100' : '') +
        (v === 100 && getKey(obj, 'labels') !== undefined ? ' - this looks like CIFAR-10' : ''),
    );
  const labels = toLabelArray(rawLabels, file, labelKey);
  const n = data.shape[0];
  if (labels.length !== n) throw new DatasetError(`${file}: ${labels.length} labels for ${n} images`);
  checkLabels(labels, v, file, labelKey);
  let coarse: Int32Array | undefined;
  const rawCoarse = v === 100 ? getKey(obj, 'coarse_labels') : undefined;
  if (rawCoarse !== undefined) {
    coarse = toLabelArray(rawCoarse, file, 'coarse_labels');
    if (coarse.length !== n) throw new DatasetError(`${file}: ${coarse.length} coarse_labels for ${n} images`);
    checkLabels(coarse, 20, file, 'coarse_labels');
  }
  return { data: data.data as Uint8Array, dataOffset: 0, stride: IMAGE_BYTES, count: n, labels, coarse };
}

function readBinaryPart(file: string, v: CifarVariant): Part {
  const buf = new Uint8Array(readFileSync(file));
  const lb = v === 10 ? 1 : 2;
  const rec = lb + IMAGE_BYTES;
  if (buf.length === 0 || buf.length % rec !== 0) {
    throw new DatasetError(
      `${file}: ${buf.length} bytes is not a whole number of ${rec}-byte CIFAR-${v} records ` +
        `(${lb} label byte${lb > 1 ? 's' : ''} + ${IMAGE_BYTES} pixels): truncated or not CIFAR-${v}`,
    );
  }
  const n = buf.length / rec;
  const labels = new Int32Array(n);
  const coarse = v === 100 ? new Int32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    if (v === 10) labels[i] = buf[i * rec];
    else {
      coarse![i] = buf[i * rec];
      labels[i] = buf[i * rec + 1];
    }
  }
  checkLabels(labels, v, file, v === 10 ? 'label of record' : 'fine label of record');
  if (coarse) checkLabels(coarse, 20, file, 'coarse label of record');
  return { data: buf, dataOffset: lb, stride: rec, count: n, labels, coarse };
}

/** Reads one CIFAR split (all its batch files) into HWC uint8 images. */
export function readCifarSplit(
  root: string,
  v: CifarVariant,
  split: 'train' | 'test',
  onFile?: (done: number, total: number) => void,
): CifarSplit {
  const { layout, files } = locateCifar(root, v, split);
  const parts = files.map((f, i) => {
    const part = layout === 'python' ? readPicklePart(f, v) : readBinaryPart(f, v);
    onFile?.(i + 1, files.length);
    return part;
  });
  const n = parts.reduce((s, p) => s + p.count, 0);
  const images = new Uint8Array(n * IMAGE_BYTES);
  const labels = new Int32Array(n);
  const coarseLabels = parts.every((p) => p.coarse) && v === 100 ? new Int32Array(n) : undefined;
  let k = 0;
  for (const p of parts) {
    for (let i = 0; i < p.count; i++, k++) {
      planesToHwc(p.data, p.dataOffset + i * p.stride, images, k * IMAGE_BYTES);
    }
    labels.set(p.labels, k - p.count);
    if (coarseLabels && p.coarse) coarseLabels.set(p.coarse, k - p.count);
  }
  return { images, labels, shape: [32, 32, 3], coarseLabels, layout, files };
}

/** Class names from batches.meta / meta (python) or batches.meta.txt / fine_label_names.txt (binary); undefined when absent. */
export function readCifarClassNames(root: string, v: CifarVariant): string[] | undefined {
  for (const sub of subdirs(v)) {
    const dir = sub ? join(root, sub) : root;
    const pyMeta = join(dir, v === 10 ? 'batches.meta' : 'meta');
    if (existsSync(pyMeta)) {
      let obj: unknown;
      try {
        obj = parsePickle(new Uint8Array(readFileSync(pyMeta)), pyMeta);
      } catch (e) {
        const msg = (e as Error).message;
        throw new DatasetError(msg.includes(pyMeta) ? msg : `${pyMeta}: ${msg}`);
      }
      const key = v === 10 ? 'label_names' : 'fine_label_names';
      const names = obj instanceof Map ? getKey(obj, key) : undefined;
      if (!Array.isArray(names)) throw new DatasetError(`${pyMeta}: no '${key}' list in the meta dict`);
      return names.map((x) => (x instanceof Uint8Array ? Buffer.from(x).toString('utf8') : String(x)));
    }
    const txt = join(dir, v === 10 ? 'batches.meta.txt' : 'fine_label_names.txt');
    if (existsSync(txt)) {
      return readFileSync(txt, 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== '');
    }
  }
  return undefined;
}

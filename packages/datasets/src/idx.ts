import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from './errors.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const IDX_TYPES: Record<number, string> = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

/** Reads gzip-compressed or plain bytes; gzip is recognised by its magic number, not the file name. */
export function readMaybeGzip(path: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new DatasetError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      const out = gunzipSync(raw);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (e) {
      throw new DatasetError(`${path}: corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

/**
 * Parses an IDX file (the MNIST / Fashion-MNIST format): magic 0x0000 <type> <ndims>, ndims big-endian
 * uint32 sizes, then the data. Only unsigned bytes (type 0x08) are accepted, as those datasets use.
 */
export function parseIdx(buf: Uint8Array, source: string, expectDims?: number): IdxArray {
  if (buf.length < 4) throw new DatasetError(`${source}: not an IDX file (only ${buf.length} bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new DatasetError(`${source}: not an IDX file (bad magic number 0x${hex(buf, 0, 4)})`);
  }
  const type = buf[2];
  const ndims = buf[3];
  if (type !== 0x08) {
    const t = IDX_TYPES[type];
    throw new DatasetError(
      `${source}: IDX element type ${t ?? `0x${type.toString(16)} (invalid)`} is not supported, expected uint8 (0x08)`,
    );
  }
  if (expectDims !== undefined && ndims !== expectDims) {
    throw new DatasetError(
      `${source}: expected a ${expectDims}-dimensional IDX array (magic 0x0000080${expectDims}), found ${ndims} dimensions`,
    );
  }
  if (ndims === 0) throw new DatasetError(`${source}: IDX array with 0 dimensions`);
  const header = 4 + 4 * ndims;
  if (buf.length < header)
    throw new DatasetError(`${source}: truncated IDX header (${buf.length} bytes, need ${header})`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  const have = buf.length - header;
  if (have < size) {
    throw new DatasetError(
      `${source}: truncated: header says ${dims.join('x')} = ${size} bytes of data, file has ${have}`,
    );
  }
  if (have > size) {
    throw new DatasetError(
      `${source}: ${have - size} unexpected bytes after the ${dims.join('x')} data (corrupt file?)`,
    );
  }
  return { dims, data: buf.subarray(header) };
}

function hex(buf: Uint8Array, from: number, to: number): string {
  return Array.from(buf.subarray(from, to), (b) => b.toString(16).padStart(2, '0')).join('');
}

export const FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** File names to try, in order: the official (and Debian dataset-fashion-mnist) .gz names, unpacked, and the dotted variant. */
export function idxCandidates(prefix: string, kind: 'images' | 'labels'): string[] {
  const d = kind === 'images' ? 'idx3' : 'idx1';
  return [
    `${prefix}-${kind}-${d}-ubyte.gz`,
    `${prefix}-${kind}-${d}-ubyte`,
    `${prefix}-${kind}.${d}-ubyte`,
    `${prefix}-${kind}.${d}-ubyte.gz`,
  ];
}

export function findFile(root: string, names: string[]): string | undefined {
  for (const n of names) {
    const p = join(root, n);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export interface RawSplit {
  images: Uint8Array;
  labels: Int32Array;
  shape: [number, number, number];
}

/** Reads one split of an MNIST-style IDX dataset (images idx3 + labels idx1) and checks they agree. */
export function readIdxSplit(root: string, split: 'train' | 'test', datasetName: string, howToGet: string): RawSplit {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgNames = idxCandidates(prefix, 'images');
  const lblNames = idxCandidates(prefix, 'labels');
  const imgPath = findFile(root, imgNames);
  const lblPath = findFile(root, lblNames);
  if (!imgPath || !lblPath) {
    const missing = !imgPath ? imgNames : lblNames;
    const what = !existsSync(root)
      ? `${root} does not exist`
      : `${datasetName} ${split} ${!imgPath ? 'images' : 'labels'} not found in ${root} (looked for ${missing.join(', ')})`;
    throw new DatasetError(`${what}. ${howToGet}`);
  }
  const img = parseIdx(readMaybeGzip(imgPath), imgPath, 3);
  const lbl = parseIdx(readMaybeGzip(lblPath), lblPath, 1);
  const [n, h, w] = img.dims;
  if (lbl.dims[0] !== n) {
    throw new DatasetError(`${lblPath}: ${lbl.dims[0]} labels but ${imgPath} has ${n} images`);
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = lbl.data[i];
  return { images: img.data, labels, shape: [h, w, 1] };
}

import { readInputFile } from './read-file.js';
import { writeFileAtomic } from './atomic.js';
import { FormatError } from './errors.js';
import {
  dtypeCode,
  dtypeOfTypedArray,
  fortranToC,
  shapeSize,
  typedFromBytes,
  type NdArray,
  type TypedArray,
} from './ndarray.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses a NumPy .npy file (format versions 1.0-3.0). Fortran-ordered arrays are converted to C order. */
export function parseNpy(buf: Uint8Array, source = '<npy>'): NdArray {
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) {
    throw new FormatError(`${source}: not a NumPy .npy file (missing \\x93NUMPY magic)`);
  }
  const major = buf[6];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new FormatError(`${source}: truncated .npy header`);
    headerLen = view.getUint32(8, true);
    offset = 12;
  } else {
    throw new FormatError(`${source}: unsupported .npy format version ${major}`);
  }
  if (offset + headerLen > buf.length) throw new FormatError(`${source}: truncated .npy header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(offset, offset + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new FormatError(`${source}: malformed .npy header: ${header.trim()}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Number.parseInt(s, 10));
  if (shape.some((d) => !Number.isFinite(d) || d < 0)) throw new FormatError(`${source}: bad shape (${shapeText})`);
  const count = shapeSize(shape);
  const { dtype, data } = typedFromBytes(buf.subarray(offset + headerLen), descr, count, source);
  const arr: NdArray = { dtype, shape, data };
  return fortran === 'True' ? fortranToC(arr) : arr;
}

export function readNpy(path: string): NdArray {
  return parseNpy(readInputFile(path), path);
}

/** Encodes a C-ordered little-endian .npy (version 1.0), readable by numpy.load. */
export function encodeNpy(arr: { data: TypedArray; shape: number[]; dtype?: string }): Uint8Array {
  const dtype = arr.dtype ?? dtypeOfTypedArray(arr.data);
  const code = dtypeCode(dtype);
  if (shapeSize(arr.shape) !== arr.data.length) {
    throw new FormatError(`npy: shape [${arr.shape.join(', ')}] does not match ${arr.data.length} elements`);
  }
  const order = code === 'u1' || code === 'i1' || code === 'b1' ? '|' : '<';
  const shapeStr = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${order}${code}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Header is padded so the data starts on a 64-byte boundary, as numpy writes it.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + arr.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), 10 + header.length);
  return out;
}

export function writeNpy(path: string, arr: { data: TypedArray; shape: number[]; dtype?: string }): void {
  writeFileAtomic(path, encodeNpy(arr));
}

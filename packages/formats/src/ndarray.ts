import { FormatError } from './errors.js';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A dense array as NumPy describes it: C order, little-endian data in a typed array. */
export interface NdArray {
  /** NumPy dtype name: 'float32', 'float64', 'int64', 'uint8', 'bool', ... */
  dtype: string;
  shape: number[];
  data: TypedArray;
}

interface DtypeInfo {
  name: string;
  size: number;
  make: (buf: ArrayBuffer, offset: number, length: number) => TypedArray;
}

const DTYPES: Record<string, DtypeInfo> = {
  f4: { name: 'float32', size: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  f8: { name: 'float64', size: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  i1: { name: 'int8', size: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  i2: { name: 'int16', size: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  i4: { name: 'int32', size: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  i8: { name: 'int64', size: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  u1: { name: 'uint8', size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  u2: { name: 'uint16', size: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  u4: { name: 'uint32', size: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  u8: { name: 'uint64', size: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
  b1: { name: 'bool', size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
};

const BY_NAME: Record<string, string> = Object.fromEntries(Object.entries(DTYPES).map(([k, v]) => [v.name, k]));

/** Parses a NumPy type string such as '<f4', '|u1', 'float64'. Big-endian data is byte-swapped on read. */
export function dtypeFromDescr(descr: string, where: string): { code: string; info: DtypeInfo; bigEndian: boolean } {
  let s = descr;
  let bigEndian = false;
  if (BY_NAME[s]) s = BY_NAME[s];
  else if ('<>|='.includes(s[0] ?? '')) {
    bigEndian = s[0] === '>';
    s = s.slice(1);
  }
  const info = DTYPES[s];
  if (!info)
    throw new FormatError(
      `${where}: unsupported dtype '${descr}' (supported: ${Object.values(DTYPES)
        .map((d) => d.name)
        .join(', ')})`,
    );
  return { code: s, info, bigEndian: bigEndian && info.size > 1 };
}

/** Copies raw bytes into a fresh, aligned typed array of the given dtype. */
export function typedFromBytes(
  bytes: Uint8Array,
  descr: string,
  count: number,
  where: string,
): { dtype: string; data: TypedArray } {
  const { info, bigEndian } = dtypeFromDescr(descr, where);
  const need = count * info.size;
  if (bytes.length < need)
    throw new FormatError(
      `${where}: data is truncated (${bytes.length} bytes, need ${need} for ${count} × ${info.name})`,
    );
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(0, need));
  if (bigEndian) {
    for (let i = 0; i < need; i += info.size) copy.subarray(i, i + info.size).reverse();
  }
  return { dtype: info.name, data: info.make(copy.buffer, 0, count) };
}

export function dtypeCode(dtype: string): string {
  const code = BY_NAME[dtype];
  if (!code) throw new FormatError(`unsupported dtype '${dtype}'`);
  return code;
}

export function dtypeOfTypedArray(data: TypedArray): string {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint64';
}

export function shapeSize(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Rows of a 2-d array as float64 numbers (any numeric dtype). */
export function toFloat64(arr: NdArray): Float64Array {
  if (arr.data instanceof Float64Array) return arr.data;
  const out = new Float64Array(arr.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(arr.data[i]);
  return out;
}

/** Reorders a Fortran-ordered array (first index fastest) into C order. */
export function fortranToC(arr: NdArray): NdArray {
  const { shape } = arr;
  if (shape.length < 2) return arr;
  const n = arr.data.length;
  const Ctor = arr.data.constructor as new (n: number) => TypedArray;
  const out = new Ctor(n);
  const fStrides: number[] = [];
  let s = 1;
  for (const d of shape) {
    fStrides.push(s);
    s *= d;
  }
  const idx = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let k = 0; k < shape.length; k++) f += idx[k] * fStrides[k];
    (out as unknown as number[])[c] = (arr.data as unknown as number[])[f];
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return { dtype: arr.dtype, shape, data: out };
}

import { FormatError } from './errors.js';
import { dtypeCode, dtypeOfTypedArray, type NdArray } from './ndarray.js';

/**
 * Encodes plain data and NumPy arrays as a protocol-3 pickle that Python's pickle.load reads without our code:
 * Map / plain object -> dict, array -> list, NdArray -> numpy.ndarray (via numpy's own reconstruction, as numpy
 * pickles itself), string -> str, integer number -> int, other number -> float, bigint -> int, null -> None,
 * boolean -> bool, Uint8Array -> bytes.
 */
export function encodePickle(value: unknown): Uint8Array {
  const parts: Buffer[] = [Buffer.from([0x80, 3])];
  const op = (...bytes: number[]) => parts.push(Buffer.from(bytes));
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    parts.push(b);
  };
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    op(0x58); // BINUNICODE
    u32(b.length);
    parts.push(b);
  };
  const bytes = (b: Uint8Array) => {
    op(0x42); // BINBYTES
    u32(b.length);
    parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  };
  const global = (mod: string, name: string) => parts.push(Buffer.from(`c${mod}\n${name}\n`, 'latin1'));
  const int = (v: number | bigint) => {
    if (typeof v === 'number' && v >= -(2 ** 31) && v < 2 ** 31) {
      op(0x4a); // BININT
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      parts.push(b);
      return;
    }
    // LONG1: little-endian two's complement
    let x = BigInt(v);
    const out: number[] = [];
    for (;;) {
      out.push(Number(x & 0xffn));
      const done =
        (x >> 7n === 0n && (out[out.length - 1] & 0x80) === 0) ||
        (x >> 7n === -1n && (out[out.length - 1] & 0x80) !== 0);
      x >>= 8n;
      if (done) break;
    }
    op(0x8a, out.length, ...out);
  };
  const ndarray = (arr: NdArray) => {
    const code = dtypeCode(arr.dtype ?? dtypeOfTypedArray(arr.data));
    global('numpy.core.multiarray', '_reconstruct');
    global('numpy', 'ndarray');
    int(0);
    op(0x85); // TUPLE1 -> (0,)
    bytes(Buffer.from('b'));
    op(0x87, 0x52); // TUPLE3, REDUCE
    op(0x28); // MARK: state tuple
    int(1);
    op(0x28);
    for (const d of arr.shape) int(d);
    op(0x74); // TUPLE (shape)
    global('numpy', 'dtype');
    str(code);
    op(0x89, 0x88, 0x87, 0x52); // False, True, TUPLE3, REDUCE
    op(0x28);
    int(3);
    str(code.endsWith('1') ? '|' : '<');
    op(0x4e, 0x4e, 0x4e);
    int(-1);
    int(-1);
    int(0);
    op(0x74, 0x62); // TUPLE, BUILD (dtype state)
    op(0x89); // not Fortran
    bytes(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength));
    op(0x74, 0x62); // TUPLE, BUILD (array state)
  };
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) op(0x4e);
    else if (v === true) op(0x88);
    else if (v === false) op(0x89);
    else if (typeof v === 'bigint') int(v);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && !Object.is(v, -0)) int(v);
      else {
        op(0x47); // BINFLOAT, big-endian
        const b = Buffer.alloc(8);
        b.writeDoubleBE(v);
        parts.push(b);
      }
    } else if (typeof v === 'string') str(v);
    else if (v instanceof Uint8Array) bytes(v);
    else if (Array.isArray(v)) {
      op(0x5d, 0x28); // EMPTY_LIST, MARK
      for (const x of v) walk(x);
      op(0x65); // APPENDS
    } else if (v instanceof Map || (typeof v === 'object' && v !== null && !('shape' in v && 'data' in v))) {
      op(0x7d, 0x28); // EMPTY_DICT, MARK
      const entries = v instanceof Map ? [...v] : Object.entries(v as object);
      for (const [k, x] of entries) {
        walk(k);
        walk(x);
      }
      op(0x75); // SETITEMS
    } else if (typeof v === 'object' && v !== null && 'shape' in v && 'data' in v) ndarray(v as NdArray);
    else throw new FormatError(`pickle: cannot encode a value of type ${typeof v}`);
  };
  walk(value);
  op(0x2e); // STOP
  return Buffer.concat(parts);
}

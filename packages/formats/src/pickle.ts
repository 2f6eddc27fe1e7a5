import { readFileSync } from 'node:fs';
import { FormatError } from './errors.js';
import { dtypeFromDescr, fortranToC, shapeSize, typedFromBytes, type NdArray } from './ndarray.js';

/**
 * A safe reader for Python pickles holding plain data and NumPy arrays (the reference's class-embedding
 * and feature dumps, CIFAR's python batches). It interprets the opcode stream itself and never runs code:
 * the only callables it accepts are NumPy's array/dtype reconstruction functions and `_codecs.encode`
 * (how protocol-2 pickles spell `bytes`), each implemented here. Any other global is refused.
 *
 * Mapping: dict -> Map, list/tuple -> array, numpy ndarray -> NdArray, numpy scalar -> number,
 * bytes -> Uint8Array, str -> string (Python 2 byte strings are decoded as latin-1, like
 * `pickle.load(encoding='latin1')`, which is what NumPy recommends for Python 2 pickles), int -> number
 * (bigint beyond 2^53), float -> number, None -> null, bool -> boolean, set -> Set.
 */

const ALLOWED_GLOBALS = new Set([
  'numpy.core.multiarray _reconstruct',
  'numpy._core.multiarray _reconstruct',
  'numpy ndarray',
  'numpy dtype',
  'numpy.core.multiarray scalar',
  'numpy.core.numeric _frombuffer',
  'numpy._core.numeric _frombuffer',
  'numpy._core.multiarray scalar',
  '_codecs encode',
]);

class Global {
  constructor(readonly name: string) {}
}

/** An ndarray under construction: created by _reconstruct, filled by BUILD. */
class PendingArray {
  array: NdArray | undefined;
}

class Dtype {
  descr: string;
  constructor(descr: string) {
    this.descr = descr;
  }
}

type Value = unknown;

function latin1Bytes(s: string): Uint8Array {
  // Native conversion: CIFAR batches carry 30 MB array payloads as Python 2 byte strings.
  const b = Buffer.from(s, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function parsePickle(buf: Uint8Array, source = '<pickle>'): unknown {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Value>();
  let pos = 0;
  const fail = (msg: string): never => {
    throw new FormatError(`${source}: ${msg} (byte ${pos})`);
  };
  const need = (n: number) => {
    if (pos + n > buf.length) fail('truncated pickle');
  };
  const u8 = () => {
    need(1);
    return buf[pos++];
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = () => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length too large');
    return Number(v);
  };
  const bytes = (n: number) => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = () => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('truncated pickle (missing newline)');
    const s = Buffer.from(buf.subarray(pos, end)).toString('latin1');
    pos = end + 1;
    return s;
  };
  const utf8 = (b: Uint8Array) => Buffer.from(b).toString('utf8');
  const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const pop = (): Value => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): Value => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): Value[] => {
    const m = marks.pop();
    if (m === undefined) fail('MARK missing');
    return stack.splice(m as number);
  };
  // Protocol-0 numbers are text lines: anything but digits is a corrupt file, not a JS SyntaxError.
  const textInt = (s: string, what: string): number | bigint => {
    if (!/^[+-]?\d+$/.test(s)) fail(`corrupt ${what} ${JSON.stringify(s.slice(0, 40))} (not an integer)`);
    const v = BigInt(s);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const checkShape = (shp: Value, what: string): number[] => {
    if (!Array.isArray(shp)) fail(`${what}: shape is not a tuple`);
    const shape = (shp as Value[]).map((d) => (typeof d === 'bigint' ? Number(d) : d));
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
        fail(`${what}: shape (${shape.join(', ')}) has a dimension that is not a non-negative integer`);
    }
    return shape as number[];
  };
  const littleLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (dict: Value, items: Value[]) => {
    if (!(dict instanceof Map)) fail('SETITEM on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) (dict as Map<Value, Value>).set(items[i], items[i + 1]);
  };
  const appendItems = (list: Value, items: Value[]) => {
    if (!Array.isArray(list)) fail('APPEND on a non-list');
    for (const x of items) (list as Value[]).push(x); // push(...items) overflows the stack on huge batches
  };

  const call = (fn: Value, args: Value): Value => {
    if (!(fn instanceof Global)) fail('REDUCE on something that is not an allowed global');
    const name = (fn as Global).name;
    const a = args as Value[];
    switch (name) {
      case 'numpy.core.multiarray _reconstruct':
      case 'numpy._core.multiarray _reconstruct':
        return new PendingArray();
      case 'numpy dtype':
        if (typeof a[0] !== 'string') fail('numpy.dtype without a type string');
        return new Dtype(a[0] as string);
      case 'numpy.core.multiarray scalar':
      case 'numpy._core.multiarray scalar': {
        const dt = a[0];
        const raw = a[1];
        if (!(dt instanceof Dtype)) fail('numpy scalar without dtype');
        const data =
          raw instanceof Uint8Array
            ? raw
            : typeof raw === 'string'
              ? latin1Bytes(raw)
              : fail('numpy scalar without data');
        const { data: arr } = typedFromBytes(data as Uint8Array, (dt as Dtype).descr, 1, source);
        const v = arr[0];
        return typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(v)
          : v;
      }
      case 'numpy.core.numeric _frombuffer':
      case 'numpy._core.numeric _frombuffer': {
        // protocol 5: _frombuffer(buffer, dtype, shape, order)
        const [raw, dt, shp, order] = a;
        if (!(raw instanceof Uint8Array) || !(dt instanceof Dtype) || !Array.isArray(shp))
          fail('malformed numpy _frombuffer call');
        const shape = checkShape(shp, 'numpy array');
        const typed = typedFromBytes(raw as Uint8Array, (dt as Dtype).descr, shapeSize(shape), source);
        const arr: NdArray = { dtype: typed.dtype, shape, data: typed.data };
        const done = new PendingArray();
        done.array = order === 'F' ? fortranToC(arr) : arr;
        return done;
      }
      case '_codecs encode': {
        const enc = String(a[1] ?? 'utf-8').toLowerCase();
        if (typeof a[0] !== 'string') fail('_codecs.encode of a non-string');
        if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') return latin1Bytes(a[0] as string);
        if (enc === 'utf-8' || enc === 'utf8') return new Uint8Array(Buffer.from(a[0] as string, 'utf8'));
        return fail(`_codecs.encode with unsupported encoding '${enc}'`);
      }
      default:
        return fail(`global '${name}' is not allowed`);
    }
  };

  const build = (obj: Value, state: Value) => {
    if (obj instanceof Dtype) {
      // dtype state: (version, byteorder, subdescr, names, fields, elsize, alignment, flags)
      const s = state as Value[];
      const order = typeof s[1] === 'string' ? (s[1] as string) : '|';
      if (s[3] !== null && s[3] !== undefined) fail('structured numpy dtypes are not supported');
      const base = obj.descr.replace(/^[<>|=]/, '');
      obj.descr = (order === '>' ? '>' : order === '<' ? '<' : '|') + base;
      return;
    }
    if (obj instanceof PendingArray) {
      // ndarray state: (version, shape, dtype, is_fortran, rawdata)
      const s = state as Value[];
      const off = s.length === 5 ? 1 : 0;
      if (!Array.isArray(s)) fail('ndarray state is not a tuple');
      const shape = checkShape(s[off], 'numpy array');
      const dt = s[off + 1];
      const fortran = Boolean(s[off + 2]);
      const raw = s[off + 3];
      if (!(dt instanceof Dtype)) fail('ndarray state without dtype');
      if (Array.isArray(raw)) fail('object arrays are not supported');
      const data =
        raw instanceof Uint8Array
          ? raw
          : typeof raw === 'string'
            ? latin1Bytes(raw)
            : fail('ndarray state without data');
      dtypeFromDescr((dt as Dtype).descr, source);
      const typed = typedFromBytes(data as Uint8Array, (dt as Dtype).descr, shapeSize(shape), source);
      const arr: NdArray = { dtype: typed.dtype, shape, data: typed.data };
      obj.array = fortran ? fortranToC(arr) : arr;
      return;
    }
    if (obj instanceof Map && state instanceof Map) {
      for (const [k, v] of state) obj.set(k, v);
      return;
    }
    fail('BUILD on an object this reader does not construct');
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail('malformed pickle (stack not empty at STOP)');
        return resolve(stack[0], new Map(), 0, source);
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new Map();
        setItems(d, items);
        stack.push(d);
        break;
      }
      case 0x6c: // LIST
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail('ADDITEMS on a non-set');
        for (const it of items) (s as Set<Value>).add(it);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: // LONG1
        stack.push(littleLong(bytes(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(littleLong(bytes(u32())));
        break;
      case 0x49: {
        // INT (protocol 0): also spells booleans as 00/01
        const s = line().trim();
        if (s === '00') stack.push(false);
        else if (s === '01') stack.push(true);
        else stack.push(textInt(s, 'INT'));
        break;
      }
      case 0x4c: {
        // LONG (protocol 0)
        stack.push(textInt(line().trim().replace(/L$/, ''), 'LONG'));
        break;
      }
      case 0x47: {
        // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x46: {
        // FLOAT (protocol 0): repr() of a float, also inf / nan
        const s = line().trim();
        if (!/^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?inf|nan)$/.test(s))
          fail(`corrupt FLOAT ${JSON.stringify(s.slice(0, 40))}`);
        stack.push(s.endsWith('inf') ? (s.startsWith('-') ? -Infinity : Infinity) : s === 'nan' ? NaN : Number(s));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(utf8(bytes(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(bytes(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(bytes(u64())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape line)
        stack.push(line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h) => String.fromCharCode(Number.parseInt(h, 16))));
        break;
      case 0x54: // BINSTRING (py2 str)
        stack.push(latin1(bytes(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(bytes(u8())));
        break;
      case 0x53: {
        // STRING (protocol 0, quoted repr)
        const s = line().trim();
        const body = s.slice(1, -1);
        stack.push(
          body.replace(/\\x([0-9a-fA-F]{2})|\\(.)/g, (_m, hex, ch) =>
            hex
              ? String.fromCharCode(Number.parseInt(hex, 16))
              : ch === 'n'
                ? '\n'
                : ch === 't'
                  ? '\t'
                  : ch === 'r'
                    ? '\r'
                    : ch,
          ),
        );
        break;
      }
      case 0x42: // BINBYTES
        stack.push(new Uint8Array(bytes(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(new Uint8Array(bytes(u8())));
        break;
      case 0x8e: // BINBYTES8
        stack.push(new Uint8Array(bytes(u64())));
        break;
      case 0x96: // BYTEARRAY8
        stack.push(new Uint8Array(bytes(u64())));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT
        memo.set(Number.parseInt(line(), 10), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: {
        // BINGET
        const k = u8();
        if (!memo.has(k)) fail(`memo key ${k} missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x6a: {
        // LONG_BINGET
        const k = u32();
        if (!memo.has(k)) fail(`memo key ${k} missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x67: {
        // GET
        const k = Number.parseInt(line(), 10);
        if (!memo.has(k)) fail(`memo key ${k} missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const mod = line();
        const name = line();
        stack.push(global(mod, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const mod = pop();
        if (typeof mod !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL with non-string names');
        stack.push(global(mod as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case 0x81: {
        // NEWOBJ: only ndarray/dtype subclass construction reaches here in numpy pickles
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      default:
        fail(`unsupported or unsafe pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }

  function global(mod: string, name: string): Global {
    const key = `${mod} ${name}`;
    if (!ALLOWED_GLOBALS.has(key)) {
      throw new FormatError(
        `${source}: refusing to load: the pickle references '${mod}.${name}', which could run code; only NumPy arrays and plain Python data are read (byte ${pos})`,
      );
    }
    return new Global(key);
  }
}

/** Deeper nesting than this is refused: no data file needs it, and recursion would overflow the JS stack. */
export const MAX_PICKLE_DEPTH = 1000;

/** Replaces construction placeholders by their final values, recursively, keeping shared references. */
function resolve(v: Value, seen = new Map<Value, Value>(), depth = 0, source = 'pickle'): Value {
  if (depth > MAX_PICKLE_DEPTH)
    throw new FormatError(`${source}: containers nested deeper than ${MAX_PICKLE_DEPTH} levels`);
  if (v instanceof PendingArray) {
    if (!v.array) throw new FormatError('pickle: numpy array without data');
    return v.array;
  }
  if (v instanceof Dtype) return v.descr;
  if (v instanceof Global) throw new FormatError(`pickle: unresolved reference to ${v.name}`);
  if (seen.has(v)) return seen.get(v);
  if (Array.isArray(v)) {
    const out: Value[] = [];
    seen.set(v, out);
    for (const x of v) out.push(resolve(x, seen, depth + 1, source));
    return out;
  }
  if (v instanceof Map) {
    const out = new Map<Value, Value>();
    seen.set(v, out);
    for (const [k, x] of v) out.set(resolve(k, seen, depth + 1, source), resolve(x, seen, depth + 1, source));
    return out;
  }
  if (v instanceof Set) {
    const out = new Set<Value>();
    seen.set(v, out);
    for (const x of v) out.add(resolve(x, seen, depth + 1, source));
    return out;
  }
  return v;
}

export function readPickle(path: string): unknown {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new FormatError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parsePickle(buf, path);
}

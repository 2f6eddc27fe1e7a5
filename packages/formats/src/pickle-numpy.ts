// The pickle reader's safety allow-list and the NumPy reconstruction it permits: the only callables a pickle may
// name, each implemented here (never run), the placeholders they build and how they resolve to plain values.
import { FormatError } from './errors.js';
import { dtypeFromDescr, fortranToC, shapeSize, typedFromBytes, type NdArray } from './ndarray.js';

export type Value = unknown;

/** Stops the parse with `<source>: <msg> (byte <pos>)`. */
export type Fail = (msg: string) => never;

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

/** GLOBAL / STACK_GLOBAL: a reference to one of the allowed callables; anything else is refused before use. */
export function allowedGlobal(mod: string, name: string, fail: Fail): Global {
  const key = `${mod} ${name}`;
  if (!ALLOWED_GLOBALS.has(key)) {
    fail(
      `refusing to load: the pickle references '${mod}.${name}', which could run code; ` +
        'only NumPy arrays and plain Python data are read',
    );
  }
  return new Global(key);
}

export function latin1Bytes(s: string): Uint8Array {
  // Native conversion: CIFAR batches carry 30 MB array payloads as Python 2 byte strings.
  const b = Buffer.from(s, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function checkShape(shp: Value, what: string, fail: Fail): number[] {
  if (!Array.isArray(shp)) fail(`${what}: shape is not a tuple`);
  const shape = (shp as Value[]).map((d) => (typeof d === 'bigint' ? Number(d) : d));
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      fail(`${what}: shape (${shape.join(', ')}) has a dimension that is not a non-negative integer`);
  }
  return shape as number[];
}

/** Array payloads come as bytes (protocol 3+) or as Python 2 byte strings. */
function payload(raw: Value, missing: string, fail: Fail): Uint8Array {
  return raw instanceof Uint8Array ? raw : typeof raw === 'string' ? latin1Bytes(raw) : fail(missing);
}

/** REDUCE / NEWOBJ: calls one of the allowed globals (our implementation of it) with its argument tuple. */
export function callGlobal(fn: Value, args: Value, fail: Fail, source: string): Value {
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
      if (!(dt instanceof Dtype)) fail('numpy scalar without dtype');
      const data = payload(a[1], 'numpy scalar without data', fail);
      const { data: arr } = typedFromBytes(data, (dt as Dtype).descr, 1, source);
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
      const shape = checkShape(shp, 'numpy array', fail);
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
}

/** BUILD: sets the state of a dtype or ndarray placeholder (or updates a dict). */
export function buildObject(obj: Value, state: Value, fail: Fail, source: string): void {
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
    const shape = checkShape(s[off], 'numpy array', fail);
    const dt = s[off + 1];
    const fortran = Boolean(s[off + 2]);
    const raw = s[off + 3];
    if (!(dt instanceof Dtype)) fail('ndarray state without dtype');
    if (Array.isArray(raw)) fail('object arrays are not supported');
    const data = payload(raw, 'ndarray state without data', fail);
    dtypeFromDescr((dt as Dtype).descr, source);
    const typed = typedFromBytes(data, (dt as Dtype).descr, shapeSize(shape), source);
    const arr: NdArray = { dtype: typed.dtype, shape, data: typed.data };
    obj.array = fortran ? fortranToC(arr) : arr;
    return;
  }
  if (obj instanceof Map && state instanceof Map) {
    for (const [k, v] of state) obj.set(k, v);
    return;
  }
  fail('BUILD on an object this reader does not construct');
}

/** Deeper nesting than this is refused: no data file needs it, and recursion would overflow the JS stack. */
export const MAX_PICKLE_DEPTH = 1000;

/** Replaces construction placeholders by their final values, recursively, keeping shared references. */
export function resolve(v: Value, seen = new Map<Value, Value>(), depth = 0, source = 'pickle'): Value {
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

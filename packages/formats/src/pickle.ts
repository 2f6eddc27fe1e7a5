import { FormatError } from './errors.js';
import { readInputFile } from './read-file.js';
import { allowedGlobal, buildObject, callGlobal, resolve, type Value } from './pickle-numpy.js';

/**
 * A safe reader for Python pickles holding plain data and NumPy arrays (the reference's class-embedding
 * and feature dumps, CIFAR's python batches). It interprets the opcode stream itself and never runs code:
 * the only callables it accepts are NumPy's array/dtype reconstruction functions and `_codecs.encode`
 * (how protocol-2 pickles spell `bytes`), each implemented in pickle-numpy.ts. Any other global is refused.
 *
 * Mapping: dict -> Map, list/tuple -> array, numpy ndarray -> NdArray, numpy scalar -> number,
 * bytes -> Uint8Array, str -> string (Python 2 byte strings are decoded as latin-1, like
 * `pickle.load(encoding='latin1')`, which is what NumPy recommends for Python 2 pickles), int -> number
 * (bigint beyond 2^53), float -> number, None -> null, bool -> boolean, set -> Set.
 */

const toSafeNumber = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

/** Python 2 STRING's quoted repr: \xNN, \n, \t, \r and backslash-escaped characters. */
const unquote = (body: string): string =>
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
  );

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
  // One reader per fixed-size field: check the length, read at pos, advance.
  const fixed =
    <T>(n: number, get: (at: number) => T) =>
    (): T => {
      need(n);
      const v = get(pos);
      pos += n;
      return v;
    };
  const u8 = fixed(1, (at) => buf[at]);
  const u16 = fixed(2, (at) => view.getUint16(at, true));
  const u32 = fixed(4, (at) => view.getUint32(at, true));
  const i32 = fixed(4, (at) => view.getInt32(at, true));
  const f64be = fixed(8, (at) => view.getFloat64(at, false));
  const u64big = fixed(8, (at) => view.getBigUint64(at, true));
  const u64 = () => {
    const v = u64big();
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
  /** The top n values, in stack order (TUPLE2 / TUPLE3, SETITEM, REDUCE's callable and arguments). */
  const popN = (n: number): Value[] => {
    if (stack.length < n) fail('stack underflow');
    return stack.splice(stack.length - n);
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
    return toSafeNumber(BigInt(s));
  };
  const littleLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return toSafeNumber(v);
  };
  const textFloat = (s: string): number => {
    // repr() of a float, also inf / nan
    if (!/^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?inf|nan)$/.test(s))
      fail(`corrupt FLOAT ${JSON.stringify(s.slice(0, 40))}`);
    return s.endsWith('inf') ? (s.startsWith('-') ? -Infinity : Infinity) : s === 'nan' ? NaN : Number(s);
  };
  const setItems = (dict: Value, items: Value[]) => {
    if (!(dict instanceof Map)) fail('SETITEM on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) (dict as Map<Value, Value>).set(items[i], items[i + 1]);
  };
  const appendItems = (list: Value, items: Value[]) => {
    if (!Array.isArray(list)) fail('APPEND on a non-list');
    for (const x of items) (list as Value[]).push(x); // push(...items) overflows the stack on huge batches
  };
  const addItems = (set: Value, items: Value[]) => {
    if (!(set instanceof Set)) fail('ADDITEMS on a non-set');
    for (const it of items) (set as Set<Value>).add(it);
  };
  const memoGet = (k: number): Value => {
    if (!memo.has(k)) fail(`memo key ${k} missing`);
    return memo.get(k);
  };
  const stackGlobal = () => {
    const [mod, name] = popN(2);
    if (typeof mod !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL with non-string names');
    return allowedGlobal(mod as string, name as string, fail);
  };
  const call = () => {
    const [fn, args] = popN(2);
    return callGlobal(fn, args, fail, source);
  };

  // Opcodes that push one value: what they push.
  const pushes: Record<number, () => Value> = {
    0x7d: () => new Map(), // EMPTY_DICT
    0x5d: () => [], // EMPTY_LIST
    0x29: () => [], // EMPTY_TUPLE
    0x8f: () => new Set(), // EMPTY_SET
    0x64: () => {
      // DICT
      const d = new Map();
      setItems(d, popMark());
      return d;
    },
    0x6c: popMark, // LIST
    0x74: popMark, // TUPLE
    0x85: () => [pop()], // TUPLE1
    0x86: () => popN(2), // TUPLE2
    0x87: () => popN(3), // TUPLE3
    0x91: () => new Set(popMark()), // FROZENSET
    0x4e: () => null, // NONE
    0x88: () => true, // NEWTRUE
    0x89: () => false, // NEWFALSE
    0x4b: u8, // BININT1
    0x4d: u16, // BININT2
    0x4a: i32, // BININT
    0x8a: () => littleLong(bytes(u8())), // LONG1
    0x8b: () => littleLong(bytes(u32())), // LONG4
    0x49: () => {
      // INT (protocol 0): also spells booleans as 00/01
      const s = line().trim();
      return s === '00' ? false : s === '01' ? true : textInt(s, 'INT');
    },
    0x4c: () => textInt(line().trim().replace(/L$/, ''), 'LONG'), // LONG (protocol 0)
    0x47: f64be, // BINFLOAT (big-endian)
    0x46: () => textFloat(line().trim()), // FLOAT (protocol 0)
    0x58: () => utf8(bytes(u32())), // BINUNICODE
    0x8c: () => utf8(bytes(u8())), // SHORT_BINUNICODE
    0x8d: () => utf8(bytes(u64())), // BINUNICODE8
    // UNICODE (raw-unicode-escape line)
    0x56: () => line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h) => String.fromCharCode(Number.parseInt(h, 16))),
    0x54: () => latin1(bytes(i32())), // BINSTRING (py2 str)
    0x55: () => latin1(bytes(u8())), // SHORT_BINSTRING
    0x53: () => unquote(line().trim().slice(1, -1)), // STRING (protocol 0, quoted repr)
    0x42: () => new Uint8Array(bytes(u32())), // BINBYTES
    0x43: () => new Uint8Array(bytes(u8())), // SHORT_BINBYTES
    0x8e: () => new Uint8Array(bytes(u64())), // BINBYTES8
    0x96: () => new Uint8Array(bytes(u64())), // BYTEARRAY8
    0x68: () => memoGet(u8()), // BINGET
    0x6a: () => memoGet(u32()), // LONG_BINGET
    0x67: () => memoGet(Number.parseInt(line(), 10)), // GET
    0x32: top, // DUP
    0x63: () => allowedGlobal(line(), line(), fail), // GLOBAL "module\nname\n"
    0x93: stackGlobal, // STACK_GLOBAL
    0x52: call, // REDUCE
    0x81: call, // NEWOBJ: only ndarray/dtype subclass construction reaches here in numpy pickles
  };
  // Opcodes that change the stack, the marks or the memo in place.
  const effects: Record<number, () => void> = {
    0x80: () => void u8(), // PROTO
    0x95: () => void u64(), // FRAME
    0x28: () => void marks.push(stack.length), // MARK
    0x61: () => appendItems(...popThenTop()), // APPEND
    0x65: () => appendItems(...markThenTop()), // APPENDS
    0x73: () => setItems(...popThenTop(2)), // SETITEM
    0x75: () => setItems(...markThenTop()), // SETITEMS
    0x90: () => addItems(...markThenTop()), // ADDITEMS
    0x71: () => void memo.set(u8(), top()), // BINPUT
    0x72: () => void memo.set(u32(), top()), // LONG_BINPUT
    0x70: () => void memo.set(Number.parseInt(line(), 10), top()), // PUT
    0x94: () => void memo.set(memo.size, top()), // MEMOIZE
    0x30: () => void pop(), // POP
    0x31: () => void popMark(), // POP_MARK
    0x62: () => {
      // BUILD
      const state = pop();
      buildObject(top(), state, fail, source);
    },
  };
  /** The container under the top n values, and those values: APPEND (n = 1), SETITEM (n = 2). */
  function popThenTop(n = 1): [Value, Value[]] {
    const items = popN(n);
    return [top(), items];
  }
  /** The container under the last MARK, and the values above it: APPENDS, SETITEMS, ADDITEMS. */
  function markThenTop(): [Value, Value[]] {
    const items = popMark();
    return [top(), items];
  }

  const table: (() => void)[] = [];
  for (const [op, push] of Object.entries(pushes)) table[Number(op)] = () => void stack.push(push());
  for (const [op, effect] of Object.entries(effects)) table[Number(op)] = effect;
  for (;;) {
    const op = u8();
    if (op === 0x2e) {
      // STOP
      if (stack.length !== 1) fail('malformed pickle (stack not empty at STOP)');
      return resolve(stack[0], new Map(), 0, source);
    }
    const run = table[op];
    if (run === undefined) fail(`unsupported or unsafe pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    run();
  }
}

export function readPickle(path: string): unknown {
  return parsePickle(readInputFile(path), path);
}

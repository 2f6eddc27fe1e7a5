/**
 * Reader for Python's marshal format, enough for the code objects Keras stores in Lambda layers
 * (`marshal.dumps(func.__code__)`): Python 2.7 and 3.x (3.4+ reference flags, short tuples and strings).
 * It only reads data; nothing is ever executed. Code object layouts differ by version and marshal data says
 * nothing about its version, so each known layout is tried and the one that reads cleanly wins.
 */
export type PyObj =
  | { t: 'none' | 'ellipsis' | 'stopiter' | 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  | { t: 'complex'; re: number; im: number }
  | { t: 'str'; v: string }
  | { t: 'bytes'; v: Uint8Array }
  | { t: 'tuple' | 'list' | 'set' | 'frozenset'; items: PyObj[] }
  | { t: 'dict'; entries: [PyObj, PyObj][] }
  | { t: 'code'; code: PyCode };

/** Code object layouts: 2.7; 3.0-3.7; 3.8-3.10 (positional-only count); 3.11+ (locals-plus, qualname). */
export type CodeLayout = 'py27' | 'py30' | 'py38' | 'py311';

export interface PyCode {
  layout: CodeLayout;
  argcount: number;
  kwonlyargcount: number;
  flags: number;
  code: Uint8Array;
  consts: PyObj[];
  names: string[];
  /** Arguments and locals (3.11+: the locals-plus names of kind local). */
  varnames: string[];
  /** Closure variables, in the order of the function's __closure__. */
  freevars: string[];
  cellvars: string[];
  /** 3.11+: every locals-plus name in index order (LOAD_FAST / LOAD_DEREF index into it). */
  localsplus?: string[];
  name: string;
  filename: string;
}

export class MarshalError extends Error {}

const FLAG_REF = 0x80;
// 3.11+ co_localspluskinds bits.
const CO_FAST_LOCAL = 0x20;
const CO_FAST_CELL = 0x40;
const CO_FAST_FREE = 0x80;

class Reader {
  pos = 0;
  refs: PyObj[] = [];
  interned: string[] = [];
  private readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    readonly layout: CodeLayout,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new MarshalError(`truncated at byte ${this.pos} (wanted ${n} more)`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    if (n < 0) throw new MarshalError(`negative length at byte ${this.pos}`);
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  latin1(n: number): string {
    return String.fromCharCode(...this.bytes(n));
  }

  obj(): PyObj {
    const at = this.pos;
    const code = this.u8();
    const flag = this.layout !== 'py27' && (code & FLAG_REF) !== 0;
    const type = String.fromCharCode(code & (this.layout === 'py27' ? 0xff : 0x7f));
    // A reference slot is taken before the contents are read (containers may refer to themselves).
    const slot = flag ? this.refs.push({ t: 'null' }) - 1 : -1;
    const done = (o: PyObj): PyObj => {
      if (slot >= 0) this.refs[slot] = o;
      return o;
    };
    switch (type) {
      case '0':
        return { t: 'null' };
      case 'N':
        return done({ t: 'none' });
      case 'F':
        return done({ t: 'bool', v: false });
      case 'T':
        return done({ t: 'bool', v: true });
      case 'S':
        return done({ t: 'stopiter' });
      case '.':
        return done({ t: 'ellipsis' });
      case 'i':
        return done({ t: 'int', v: this.i32() });
      case 'I': {
        const lo = this.i32() >>> 0;
        const hi = this.i32();
        return done({ t: 'int', v: hi * 2 ** 32 + lo });
      }
      case 'l': {
        // Arbitrary precision: |n| 15-bit digits, sign in n's sign.
        const n = this.i32();
        let v = 0;
        const digits = Array.from({ length: Math.abs(n) }, () => this.u8() | (this.u8() << 8));
        for (let i = digits.length - 1; i >= 0; i--) v = v * 32768 + digits[i];
        return done({ t: 'int', v: n < 0 ? -v : v });
      }
      case 'f':
        return done({ t: 'float', v: Number(this.latin1(this.u8())) });
      case 'g':
        return done({ t: 'float', v: this.f64() });
      case 'x': {
        const re = Number(this.latin1(this.u8()));
        return done({ t: 'complex', re, im: Number(this.latin1(this.u8())) });
      }
      case 'y': {
        const re = this.f64();
        return done({ t: 'complex', re, im: this.f64() });
      }
      case 's':
        return done({ t: 'bytes', v: this.bytes(this.i32()) });
      case 't': {
        // 2.7: an interned string, remembered for 'R'; 3.x: an interned str.
        const s = this.layout === 'py27' ? this.latin1(this.i32()) : new TextDecoder().decode(this.bytes(this.i32()));
        if (this.layout === 'py27') this.interned.push(s);
        return done({ t: 'str', v: s });
      }
      case 'R': {
        const s = this.interned[this.i32()];
        if (s === undefined) throw new MarshalError(`bad string reference at byte ${at}`);
        return { t: 'str', v: s };
      }
      case 'u':
        return done({ t: 'str', v: new TextDecoder().decode(this.bytes(this.i32())) });
      case 'a':
      case 'A':
        return done({ t: 'str', v: this.latin1(this.i32()) });
      case 'z':
      case 'Z':
        return done({ t: 'str', v: this.latin1(this.u8()) });
      case '(':
      case '[':
      case '<':
      case '>':
      case ')': {
        const n = type === ')' ? this.u8() : this.i32();
        if (n < 0 || n > this.buf.length) throw new MarshalError(`bad length ${n} at byte ${at}`);
        const t = ({ '(': 'tuple', ')': 'tuple', '[': 'list', '<': 'set', '>': 'frozenset' } as const)[type];
        const o: PyObj = { t, items: [] };
        if (slot >= 0) this.refs[slot] = o;
        for (let i = 0; i < n; i++) o.items.push(this.obj());
        return o;
      }
      case '{': {
        const o: PyObj = { t: 'dict', entries: [] };
        if (slot >= 0) this.refs[slot] = o;
        for (;;) {
          const k = this.obj();
          if (k.t === 'null') break;
          o.entries.push([k, this.obj()]);
        }
        return o;
      }
      case 'r': {
        const o = this.refs[this.i32()];
        if (!o) throw new MarshalError(`bad reference at byte ${at}`);
        return o;
      }
      case 'c':
        return done({ t: 'code', code: this.code(slot) });
      default:
        throw new MarshalError(`unknown type code 0x${code.toString(16)} at byte ${at}`);
    }
  }

  private strs(what: string): string[] {
    const o = this.obj();
    if (o.t !== 'tuple') throw new MarshalError(`${what} is not a tuple`);
    return o.items.map((x) => {
      if (x.t === 'str') return x.v;
      if (x.t === 'bytes') return String.fromCharCode(...x.v);
      throw new MarshalError(`${what} holds a ${x.t}`);
    });
  }
  private str(what: string): string {
    const o = this.obj();
    if (o.t === 'str') return o.v;
    if (o.t === 'bytes') return String.fromCharCode(...o.v);
    throw new MarshalError(`${what} is a ${o.t}, not a string`);
  }
  private bytesObj(what: string): Uint8Array {
    const o = this.obj();
    if (o.t !== 'bytes') throw new MarshalError(`${what} is a ${o.t}, not bytes`);
    return o.v;
  }
  private tuple(what: string): PyObj[] {
    const o = this.obj();
    if (o.t !== 'tuple') throw new MarshalError(`${what} is not a tuple`);
    return o.items;
  }

  private code(slot: number): PyCode {
    void slot;
    const L = this.layout;
    const argcount = this.i32();
    if (L === 'py38' || L === 'py311') this.i32(); // positional-only count
    const kwonlyargcount = L === 'py27' ? 0 : this.i32();
    if (L !== 'py311') this.i32(); // nlocals
    this.i32(); // stacksize
    const flags = this.i32();
    if (argcount < 0 || argcount > 255 || kwonlyargcount < 0 || kwonlyargcount > 255)
      throw new MarshalError('implausible argument counts');
    const code = this.bytesObj('co_code');
    const consts = this.tuple('co_consts');
    const names = this.strs('co_names');
    const head = { layout: L, argcount, kwonlyargcount, flags, code, consts, names };
    if (L === 'py311') {
      const localsplus = this.strs('co_localsplusnames');
      const kinds = this.bytesObj('co_localspluskinds');
      if (kinds.length !== localsplus.length)
        throw new MarshalError('co_localspluskinds does not match co_localsplusnames');
      const filename = this.str('co_filename');
      const name = this.str('co_name');
      this.str('co_qualname');
      this.i32(); // firstlineno
      this.bytesObj('co_linetable');
      this.bytesObj('co_exceptiontable');
      const pick = (bit: number): string[] => localsplus.filter((_, i) => (kinds[i] & bit) !== 0);
      return {
        ...head,
        varnames: pick(CO_FAST_LOCAL),
        freevars: pick(CO_FAST_FREE),
        cellvars: pick(CO_FAST_CELL),
        localsplus,
        name,
        filename,
      };
    }
    const varnames = this.strs('co_varnames');
    const freevars = this.strs('co_freevars');
    const cellvars = this.strs('co_cellvars');
    const filename = this.str('co_filename');
    const name = this.str('co_name');
    this.i32(); // firstlineno
    this.bytesObj('co_lnotab');
    return { ...head, varnames, freevars, cellvars, name, filename };
  }
}

const LAYOUTS: CodeLayout[] = ['py311', 'py38', 'py30', 'py27'];

/** Reads one marshalled code object, trying each Python version's layout; the first that reads cleanly wins. */
export function readCodeObject(buf: Uint8Array): PyCode {
  const problems: string[] = [];
  for (const layout of LAYOUTS) {
    const first = buf[0] ?? 0;
    if (layout === 'py27' ? first !== 0x63 : (first & 0x7f) !== 0x63) {
      problems.push(`${layout}: not a code object (first byte 0x${first.toString(16)})`);
      continue;
    }
    try {
      const r = new Reader(buf, layout);
      const o = r.obj();
      if (o.t !== 'code') throw new MarshalError('not a code object');
      if (r.pos !== buf.length) throw new MarshalError(`${buf.length - r.pos} bytes left over`);
      return o.code;
    } catch (e) {
      if (!(e instanceof MarshalError)) throw e;
      problems.push(`${layout}: ${e.message}`);
    }
  }
  throw new MarshalError(`not a marshalled code object of Python 2.7 or 3.x (${problems.join('; ')})`);
}

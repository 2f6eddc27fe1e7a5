import { decode, DisasmError, disassembly, type Instr } from './disasm.js';
import { canonicalFn, type Expr, type IndexItem } from './expr.js';
import { MarshalError, readCodeObject, type PyCode, type PyObj } from './marshal.js';
import { NB_OPS, PY27, PY311, PY312, PY34, PY36, PY38, type OpcodeTable } from './opcodes.js';

/** Symbolic stack values while the bytecode is read (nothing runs: each instruction only moves these around). */
type SV =
  | { k: 'e'; e: Expr }
  | { k: 'g'; name: string }
  | { k: 'null' }
  | { k: 'tuple' | 'list'; items: SV[] }
  | { k: 'slice'; item: IndexItem }
  | { k: 'str'; v: string }
  | { k: 'ellipsis' }
  | { k: 'none' };

export class BytecodeError extends Error {}

const BINARY: Record<string, '+' | '-' | '*' | '/' | '**'> = {
  BINARY_ADD: '+',
  BINARY_SUBTRACT: '-',
  BINARY_MULTIPLY: '*',
  BINARY_TRUE_DIVIDE: '/',
  BINARY_DIVIDE: '/',
  BINARY_POWER: '**',
};
const NB: Record<string, '+' | '-' | '*' | '/' | '**'> = { '+': '+', '-': '-', '*': '*', '/': '/', '**': '**' };
const NOOPS = new Set(['NOP', 'RESUME', 'CACHE', 'PRECALL', 'COPY_FREE_VARS', 'MAKE_CELL']);
/** Python builtins that mean something else on tensors. */
const BUILTINS: Record<string, string> = { max: 'maximum', min: 'minimum', abs: 'abs', round: 'round', pow: 'power' };

/** Which opcode tables can hold code of this layout, most likely first. */
function candidates(code: PyCode): OpcodeTable[] {
  switch (code.layout) {
    case 'py27':
      return [PY27];
    case 'py30':
      return [PY36, PY34];
    case 'py38':
      return [PY38];
    case 'py311':
      return [PY311, PY312];
  }
}

function constSV(o: PyObj): SV {
  switch (o.t) {
    case 'none':
      return { k: 'none' };
    case 'ellipsis':
      return { k: 'ellipsis' };
    case 'bool':
      return { k: 'e', e: { t: 'const', v: o.v } };
    case 'int':
    case 'float':
      return { k: 'e', e: { t: 'num', v: o.v } };
    case 'str':
      return { k: 'str', v: o.v };
    case 'tuple':
    case 'list':
      return { k: o.t, items: o.items.map(constSV) };
    default:
      throw new BytecodeError(`a ${o.t} constant`);
  }
}

/** A closure cell or default value from the Lambda config (JSON) as a constant. */
function jsonSV(v: unknown): SV {
  if (v === null) return { k: 'none' };
  if (typeof v === 'number') return { k: 'e', e: { t: 'num', v } };
  if (typeof v === 'boolean') return { k: 'e', e: { t: 'const', v } };
  if (typeof v === 'string') return { k: 'str', v };
  if (Array.isArray(v)) return { k: 'tuple', items: v.map(jsonSV) };
  throw new BytecodeError('a closure value that is not a number, flag, string or list');
}

function toExpr(v: SV): Expr {
  switch (v.k) {
    case 'e':
      return v.e;
    case 'tuple':
    case 'list':
      return { t: 'list', items: v.items.map(toExpr) };
    case 'none':
      return { t: 'const', v: null };
    case 'g':
      throw new BytecodeError(`'${v.name}' used as a value`);
    default:
      throw new BytecodeError(`a ${v.k} used as a value`);
  }
}

function toIndex(v: SV): IndexItem[] {
  if (v.k === 'tuple') return v.items.flatMap(toIndex);
  if (v.k === 'slice') return [v.item];
  if (v.k === 'ellipsis') return [{ k: 'ellipsis' }];
  if (v.k === 'none') return [{ k: 'newaxis' }];
  if (v.k === 'e' && v.e.t === 'num' && Number.isInteger(v.e.v)) return [{ k: 'int', v: v.e.v }];
  throw new BytecodeError('an index that is not a constant');
}

function bound(v: SV): number | undefined {
  if (v.k === 'none') return undefined;
  if (v.k === 'e' && v.e.t === 'num' && Number.isInteger(v.e.v)) return v.e.v;
  throw new BytecodeError('a slice bound that is not a constant integer');
}

export interface LambdaSource {
  /** The marshalled code object. */
  code: Uint8Array;
  defaults?: unknown[] | null;
  closure?: unknown[] | null;
}

/** Reads one version's instructions as an expression over `x` (the first argument) and named arguments. */
function translate(code: PyCode, instrs: Instr[], table: OpcodeTable, src: LambdaSource): Expr {
  const py311 = code.layout === 'py311';
  const v312 = table === PY312;
  const wordcodeCalls = table.wordcode;
  const stack: SV[] = [];
  const locals = new Map<string, SV>();
  let kwnames: string[] = [];
  const pop = (): SV => {
    const v = stack.pop();
    if (!v) throw new BytecodeError('stack underflow');
    return v;
  };
  const popN = (n: number): SV[] => (n === 0 ? [] : stack.splice(stack.length - n, n));
  const argNames = code.varnames.slice(0, code.argcount + code.kwonlyargcount);
  const defaults = src.defaults ?? [];
  const localName = (i: number): string => {
    const n = py311 ? code.localsplus?.[i] : code.varnames[i];
    if (n === undefined) throw new BytecodeError(`local ${i} out of range`);
    return n;
  };
  const call = (fn: SV, args: SV[], kw: Record<string, SV>): SV => {
    if (fn.k !== 'g') throw new BytecodeError('a call of something that is not a function');
    const bare = !fn.name.includes('.');
    const name = bare && BUILTINS[fn.name] ? BUILTINS[fn.name] : canonicalFn(fn.name);
    const e: Expr = {
      t: 'call',
      fn: name,
      args: args.map(toExpr),
      kw: Object.fromEntries(Object.entries(kw).map(([k, v]) => [k, toExpr(v)])),
    };
    return { k: 'e', e };
  };
  const finishCall = (n: number): void => {
    const args = popN(n);
    const kw: Record<string, SV> = {};
    const nk = kwnames.length;
    kwnames.forEach((k, j) => (kw[k] = args[n - nk + j]));
    kwnames = [];
    const fn = pop();
    if (stack.length && stack[stack.length - 1].k === 'null') pop();
    stack.push(call(fn, args.slice(0, n - nk), kw));
  };
  for (const ins of instrs) {
    const n = ins.name;
    const a = ins.arg;
    if (NOOPS.has(n)) continue;
    if (n === 'LOAD_CONST') stack.push(constSV(code.consts[a]));
    else if (n === 'LOAD_FAST' || n === 'LOAD_FAST_CHECK') {
      const name = localName(a);
      const idx = argNames.indexOf(name);
      if (idx === 0) stack.push({ k: 'e', e: { t: 'var', name: 'x' } });
      else if (locals.has(name)) stack.push(locals.get(name)!);
      else if (idx > 0) {
        // Later arguments: from the Lambda's `arguments` (looked up by name when emitted), else the defaults.
        const d = defaults.length - (code.argcount - idx);
        stack.push(d >= 0 && d < defaults.length ? jsonSV(defaults[d]) : { k: 'e', e: { t: 'var', name } });
      } else throw new BytecodeError(`local '${name}' read before it is set`);
    } else if (n === 'STORE_FAST') locals.set(localName(a), pop());
    else if (n === 'LOAD_DEREF') {
      const name = py311 ? localName(a) : [...code.cellvars, ...code.freevars][a];
      const j = code.freevars.indexOf(name);
      if (j < 0 || !src.closure || j >= src.closure.length)
        throw new BytecodeError(`closure variable '${name}' has no saved value`);
      stack.push(jsonSV(src.closure[j]));
    } else if (n === 'LOAD_GLOBAL' || n === 'LOAD_NAME') {
      const i = py311 && n === 'LOAD_GLOBAL' ? a >> 1 : a;
      if (py311 && n === 'LOAD_GLOBAL' && a & 1) stack.push({ k: 'null' });
      const g = code.names[i];
      // Python 2 reads True / False / None as global names.
      if (g === 'True' || g === 'False') stack.push({ k: 'e', e: { t: 'const', v: g === 'True' } });
      else if (g === 'None') stack.push({ k: 'none' });
      else stack.push({ k: 'g', name: g });
    } else if (n === 'LOAD_ATTR' || n === 'LOAD_METHOD') {
      const method = n === 'LOAD_METHOD' || (v312 && (a & 1) === 1);
      const attr = code.names[v312 && n === 'LOAD_ATTR' ? a >> 1 : a];
      const obj = pop();
      if (obj.k !== 'g') throw new BytecodeError(`attribute '${attr}' of a tensor`);
      if (method) stack.push({ k: 'null' });
      stack.push({ k: 'g', name: `${obj.name}.${attr}` });
    } else if (n === 'PUSH_NULL') stack.push({ k: 'null' });
    else if (n === 'KW_NAMES') {
      const t = constSV(code.consts[a]);
      kwnames = t.k === 'tuple' ? t.items.map((s) => (s.k === 'str' ? s.v : '?')) : [];
    } else if (n === 'CALL' || n === 'CALL_METHOD' || (n === 'CALL_FUNCTION' && wordcodeCalls)) finishCall(a);
    else if (n === 'CALL_FUNCTION') {
      // Before 3.6: low byte positional count, high byte keyword pairs (name, value) on the stack.
      const npos = a & 0xff;
      const nkw = (a >> 8) & 0xff;
      const pairs = popN(2 * nkw);
      const args = popN(npos);
      kwnames = [];
      for (let j = 0; j < nkw; j++) {
        const k = pairs[2 * j];
        if (k.k !== 'str') throw new BytecodeError('a keyword that is not a string');
        kwnames.push(k.v);
        args.push(pairs[2 * j + 1]);
      }
      stack.push(...args);
      finishCall(args.length);
    } else if (n === 'CALL_FUNCTION_KW' && wordcodeCalls) {
      const t = pop();
      kwnames = t.k === 'tuple' ? t.items.map((s) => (s.k === 'str' ? s.v : '?')) : [];
      finishCall(a);
    } else if (BINARY[n] || n === 'BINARY_OP') {
      const op = BINARY[n] ?? NB[NB_OPS[a]?.replace('=', '') ?? ''];
      if (!op) throw new BytecodeError(`operator ${n === 'BINARY_OP' ? NB_OPS[a] : n}`);
      const b = pop();
      const l = pop();
      stack.push({ k: 'e', e: { t: 'bin', op, a: toExpr(l), b: toExpr(b) } });
    } else if (n === 'UNARY_NEGATIVE') {
      const e = toExpr(pop());
      stack.push({ k: 'e', e: e.t === 'num' ? { t: 'num', v: -e.v } : { t: 'neg', a: e } });
    } else if (n === 'UNARY_POSITIVE') stack.push({ k: 'e', e: toExpr(pop()) });
    else if (n === 'BINARY_SUBSCR') {
      const idx = pop();
      const obj = pop();
      stack.push({ k: 'e', e: { t: 'index', a: toExpr(obj), idx: toIndex(idx) } });
    } else if (n === 'BINARY_SLICE') {
      const stop = bound(pop());
      const start = bound(pop());
      stack.push({ k: 'e', e: { t: 'index', a: toExpr(pop()), idx: [{ k: 'slice', start, stop }] } });
    } else if (n.startsWith('SLICE+')) {
      const form = Number(n.slice(6));
      const stop = form & 2 ? bound(pop()) : undefined;
      const start = form & 1 ? bound(pop()) : undefined;
      stack.push({ k: 'e', e: { t: 'index', a: toExpr(pop()), idx: [{ k: 'slice', start, stop }] } });
    } else if (n === 'BUILD_SLICE') {
      const step = a === 3 ? bound(pop()) : undefined;
      const stop = bound(pop());
      const start = bound(pop());
      stack.push({ k: 'slice', item: { k: 'slice', start, stop, step } });
    } else if (n === 'BUILD_TUPLE' || n === 'BUILD_LIST')
      stack.push({ k: n === 'BUILD_TUPLE' ? 'tuple' : 'list', items: popN(a) });
    else if (n === 'LIST_EXTEND') {
      const it = pop();
      const list = stack[stack.length - a];
      if (!list || list.k !== 'list' || (it.k !== 'tuple' && it.k !== 'list'))
        throw new BytecodeError('LIST_EXTEND of something that is not a list');
      list.items.push(...it.items);
    } else if (n === 'LIST_TO_TUPLE') {
      const l = pop();
      if (l.k !== 'list') throw new BytecodeError('LIST_TO_TUPLE of something that is not a list');
      stack.push({ k: 'tuple', items: l.items });
    } else if (n === 'RETURN_VALUE' || n === 'RETURN_CONST') {
      const v = n === 'RETURN_CONST' ? constSV(code.consts[a]) : pop();
      if (ins !== instrs[instrs.length - 1])
        throw new BytecodeError('code after the return (branches are not understood)');
      return toExpr(v);
    } else throw new BytecodeError(`instruction ${n}`);
  }
  throw new BytecodeError('no return');
}

export interface ReadLambda {
  /** The expression the code computes, when it matched. */
  expr?: Expr;
  /** Why it did not. */
  problem?: string;
  /** Python version(s) whose bytecode it is, e.g. '3.6-3.7'. */
  version?: string;
  disassembly?: string;
}

/** Reads a Lambda's marshalled code and translates it into an expression, without running anything. */
export function readLambdaCode(src: LambdaSource): ReadLambda {
  let code: PyCode;
  try {
    code = readCodeObject(src.code);
  } catch (e) {
    if (e instanceof MarshalError) return { problem: e.message };
    throw e;
  }
  let first: ReadLambda | undefined;
  for (const table of candidates(code)) {
    let instrs: Instr[];
    try {
      instrs = decode(code.code, table);
    } catch (e) {
      if (e instanceof DisasmError) continue;
      throw e;
    }
    const listing = disassembly(code, instrs, table);
    try {
      return { expr: translate(code, instrs, table, src), version: table.versions, disassembly: listing };
    } catch (e) {
      if (!(e instanceof BytecodeError)) throw e;
      first ??= {
        problem: `Python ${table.versions} bytecode with ${e.message}, which no known form matches`,
        version: table.versions,
        disassembly: listing,
      };
    }
  }
  if (first) return first;
  const table = candidates(code)[0];
  return {
    problem: `its bytecode fits no Python version's opcode table`,
    disassembly: disassembly(code, decode(code.code, table, false), table),
  };
}

import type { PyCode, PyObj } from './marshal.js';
import { NB_OPS, type OpcodeTable } from './opcodes.js';

export interface Instr {
  offset: number;
  op: number;
  name: string;
  arg: number;
}

export class DisasmError extends Error {}

/**
 * Splits bytecode into instructions with the given version's table. Strict: an opcode the table does not
 * know, or a non-zero inline cache (3.11+ write zeros there), means this is not that version's bytecode.
 */
export function decode(code: Uint8Array, table: OpcodeTable, strict = true): Instr[] {
  const out: Instr[] = [];
  let ext = 0;
  let i = 0;
  while (i < code.length) {
    const offset = i;
    const op = code[i];
    let arg = 0;
    if (table.wordcode) {
      if (i + 1 >= code.length) throw new DisasmError(`odd byte at offset ${i}`);
      arg = code[i + 1] | ext;
      i += 2;
    } else if (op >= 90) {
      if (i + 2 >= code.length) throw new DisasmError(`truncated argument at offset ${i}`);
      arg = (code[i + 1] | (code[i + 2] << 8)) + ext;
      i += 3;
    } else i += 1;
    const name = table.names.get(op);
    if (name === undefined && strict)
      throw new DisasmError(`opcode ${op} at offset ${offset} is not a ${table.versions} opcode`);
    if (op === table.extendedArg) {
      ext = table.wordcode ? arg << 8 : arg * 65536;
      continue;
    }
    ext = 0;
    const caches = name ? (table.caches[name] ?? 0) : 0;
    for (let c = 0; c < caches; c++, i += 2) {
      if (strict && (code[i] !== 0 || code[i + 1] !== 0))
        throw new DisasmError(`no inline cache after ${name} at offset ${offset}`);
    }
    out.push({ offset, op, name: name ?? `<${op}>`, arg });
  }
  return out;
}

export function formatPyObj(o: PyObj): string {
  switch (o.t) {
    case 'none':
      return 'None';
    case 'ellipsis':
      return 'Ellipsis';
    case 'bool':
      return o.v ? 'True' : 'False';
    case 'int':
    case 'float':
      return String(o.v);
    case 'str':
      return `'${o.v}'`;
    case 'bytes':
      return `b'${o.v.length} bytes'`;
    case 'tuple':
      return `(${o.items.map(formatPyObj).join(', ')}${o.items.length === 1 ? ',' : ''})`;
    case 'list':
      return `[${o.items.map(formatPyObj).join(', ')}]`;
    case 'code':
      return `<code ${o.code.name}>`;
    default:
      return `<${o.t}>`;
  }
}

/** What an instruction's argument refers to, as dis shows it. */
export function argRepr(ins: Instr, code: PyCode, table: OpcodeTable): string {
  const n = ins.name;
  const at = (list: string[], i: number): string => list[i] ?? `?${i}`;
  const py311 = code.layout === 'py311';
  if (n === 'LOAD_CONST' || n === 'KW_NAMES' || n === 'RETURN_CONST')
    return code.consts[ins.arg] ? formatPyObj(code.consts[ins.arg]) : `?${ins.arg}`;
  if (n === 'LOAD_GLOBAL')
    return py311 ? at(code.names, ins.arg >> 1) + (ins.arg & 1 ? ' + NULL' : '') : at(code.names, ins.arg);
  if (n === 'LOAD_ATTR' && table.versions === '3.12')
    return at(code.names, ins.arg >> 1) + (ins.arg & 1 ? ' (method)' : '');
  if (['LOAD_ATTR', 'LOAD_METHOD', 'LOAD_NAME', 'STORE_NAME'].includes(n)) return at(code.names, ins.arg);
  if (n === 'LOAD_FAST' || n === 'STORE_FAST' || n === 'LOAD_FAST_CHECK')
    return at(py311 ? code.localsplus! : code.varnames, ins.arg);
  if (n === 'LOAD_DEREF' || n === 'LOAD_CLOSURE')
    return at(py311 ? code.localsplus! : [...code.cellvars, ...code.freevars], ins.arg);
  if (n === 'BINARY_OP') return NB_OPS[ins.arg] ?? '?';
  return '';
}

/** A readable listing, one instruction a line, like Python's dis. */
export function disassembly(code: PyCode, instrs: Instr[], table: OpcodeTable): string {
  return instrs
    .map((ins) => {
      const hasArg = ins.op >= 90;
      const rep = argRepr(ins, code, table);
      const arg = hasArg ? String(ins.arg).padStart(4) : '    ';
      return `  ${String(ins.offset).padStart(4)} ${ins.name.padEnd(20)} ${arg}${rep ? ` (${rep})` : ''}`;
    })
    .join('\n');
}

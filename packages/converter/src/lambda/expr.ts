/**
 * The small expression language of `--lambda NAME=expr:"..."`, and the tree both it and the bytecode reader
 * produce. Python-like: `x` (the input; the list of inputs when there are several), `x0, x1, ...`, numbers,
 * + - * / ** and unary minus, calls with keyword arguments (`sum(x, axis=-1, keepdims=True)`), lists
 * (`concatenate([x0, x1], axis=-1)`) and numpy indexing (`x[:, 0]`, `x[..., 1:3]`, `x[0]` on a list of inputs).
 * Module prefixes are dropped (`K.sum`, `tf.math.abs`, `tf.nn.relu6`).
 */
export type IndexItem =
  | { k: 'int'; v: number }
  | { k: 'slice'; start?: number; stop?: number; step?: number }
  | { k: 'ellipsis' }
  | { k: 'newaxis' };

export type Expr =
  | { t: 'num'; v: number }
  | { t: 'const'; v: boolean | null }
  | { t: 'var'; name: string }
  | { t: 'bin'; op: '+' | '-' | '*' | '/' | '**'; a: Expr; b: Expr }
  | { t: 'neg'; a: Expr }
  | { t: 'call'; fn: string; args: Expr[]; kw: Record<string, Expr> }
  | { t: 'list'; items: Expr[] }
  | { t: 'index'; a: Expr; idx: IndexItem[] };

export class ExprError extends Error {}

interface Tok {
  s: string;
  kind: 'num' | 'id' | 'op';
  at: number;
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  const num = String.raw`(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)`;
  const id = String.raw`([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)`;
  const re = new RegExp(`${num}|${id}|${String.raw`(\*\*|\.\.\.|[-+*/()[\],:=])`}`, 'y');
  let pos = 0;
  for (;;) {
    while (pos < src.length && /\s/.test(src[pos])) pos++;
    if (pos >= src.length) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new ExprError(`unexpected '${src[pos]}' at column ${pos + 1}`);
    out.push({ s: m[0], kind: m[1] !== undefined ? 'num' : m[2] !== undefined ? 'id' : 'op', at: pos + 1 });
    pos = re.lastIndex;
  }
  return out;
}

/** Function names without their module (`K.`, `tf.math.`, `keras.backend.`), with common aliases folded. */
export function canonicalFn(name: string): string {
  const last = name.split('.').pop()!;
  const alias: Record<string, string> = {
    reduce_sum: 'sum',
    reduce_mean: 'mean',
    reduce_max: 'max',
    reduce_min: 'min',
    reduce_prod: 'prod',
    concat: 'concatenate',
    fake_quant_with_min_max_vars: 'fake_quant',
    fake_quant_with_min_max_args: 'fake_quant',
    clip_by_value: 'clip',
    multiply: 'mul',
    subtract: 'sub',
    divide: 'div',
    truediv: 'div',
    pow: 'power',
  };
  return alias[last] ?? last;
}

export function parseExpr(src: string): Expr {
  const toks = tokenize(src);
  let i = 0;
  const peek = (s?: string): Tok | undefined => (s === undefined || toks[i]?.s === s ? toks[i] : undefined);
  const where = (): string => (toks[i] ? `at column ${toks[i].at} ('${toks[i].s}')` : 'at the end');
  const eat = (s: string): void => {
    if (toks[i]?.s !== s) throw new ExprError(`expected '${s}' ${where()}`);
    i++;
  };
  const intLit = (): number => {
    let sign = 1;
    if (peek('-')) {
      i++;
      sign = -1;
    }
    const t = toks[i];
    if (!t || t.kind !== 'num' || !/^\d+$/.test(t.s)) throw new ExprError(`expected an integer index ${where()}`);
    i++;
    return sign * Number(t.s);
  };
  const indexItem = (): IndexItem => {
    if (peek('...')) {
      i++;
      return { k: 'ellipsis' };
    }
    if (peek('None')) {
      i++;
      return { k: 'newaxis' };
    }
    const bound = (): number | undefined => (peek(':') || peek(',') || peek(']') ? undefined : intLit());
    const start = bound();
    if (!peek(':')) {
      if (start === undefined) throw new ExprError(`empty index ${where()}`);
      return { k: 'int', v: start };
    }
    i++;
    const stop = bound();
    let step: number | undefined;
    if (peek(':')) {
      i++;
      step = bound();
    }
    return { k: 'slice', start, stop, step };
  };
  const primary = (): Expr => {
    const t = toks[i];
    if (!t) throw new ExprError('unexpected end of expression');
    if (t.kind === 'num') {
      i++;
      return { t: 'num', v: Number(t.s) };
    }
    if (t.s === '(') {
      i++;
      const e = expr();
      eat(')');
      return e;
    }
    if (t.s === '[') {
      i++;
      const items: Expr[] = [];
      while (!peek(']')) {
        items.push(expr());
        if (!peek(']')) eat(',');
      }
      eat(']');
      return { t: 'list', items };
    }
    if (t.kind === 'id') {
      i++;
      if (t.s === 'True' || t.s === 'true') return { t: 'const', v: true };
      if (t.s === 'False' || t.s === 'false') return { t: 'const', v: false };
      if (t.s === 'None') return { t: 'const', v: null };
      if (!peek('(')) return { t: 'var', name: t.s };
      i++;
      const args: Expr[] = [];
      const kw: Record<string, Expr> = {};
      while (!peek(')')) {
        if (toks[i]?.kind === 'id' && toks[i + 1]?.s === '=') {
          const k = toks[i].s;
          i += 2;
          kw[k] = expr();
        } else args.push(expr());
        if (!peek(')')) eat(',');
      }
      eat(')');
      return { t: 'call', fn: canonicalFn(t.s), args, kw };
    }
    throw new ExprError(`unexpected '${t.s}' at column ${t.at}`);
  };
  const postfix = (): Expr => {
    let e = primary();
    while (peek('[')) {
      i++;
      const idx: IndexItem[] = [indexItem()];
      while (peek(',')) {
        i++;
        idx.push(indexItem());
      }
      eat(']');
      e = { t: 'index', a: e, idx };
    }
    return e;
  };
  const power = (): Expr => {
    const a = postfix();
    if (peek('**')) {
      i++;
      return { t: 'bin', op: '**', a, b: unary() };
    }
    return a;
  };
  const unary = (): Expr => {
    if (peek('-')) {
      i++;
      const a = unary();
      return a.t === 'num' ? { t: 'num', v: -a.v } : { t: 'neg', a };
    }
    if (peek('+')) {
      i++;
      return unary();
    }
    return power();
  };
  // One left-associative level of binary operators over the next tighter level.
  const leftAssoc = (ops: readonly ('+' | '-' | '*' | '/')[], next: () => Expr) => (): Expr => {
    let a = next();
    while (ops.some((o) => peek(o))) {
      const op = toks[i++].s as (typeof ops)[number];
      a = { t: 'bin', op, a, b: next() };
    }
    return a;
  };
  const term = leftAssoc(['*', '/'], unary);
  const expr = leftAssoc(['+', '-'], term);
  const e = expr();
  if (i < toks.length) throw new ExprError(`unexpected '${toks[i].s}' at column ${toks[i].at}`);
  return e;
}

/** The tree written back as an expression (for messages and the disassembly's summary). */
export function formatExpr(e: Expr): string {
  switch (e.t) {
    case 'num':
      return String(e.v);
    case 'const':
      return e.v === null ? 'None' : e.v ? 'True' : 'False';
    case 'var':
      return e.name;
    case 'bin':
      return `(${formatExpr(e.a)} ${e.op} ${formatExpr(e.b)})`;
    case 'neg':
      return `-${formatExpr(e.a)}`;
    case 'list':
      return `[${e.items.map(formatExpr).join(', ')}]`;
    case 'call': {
      const kw = Object.entries(e.kw).map(([k, v]) => `${k}=${formatExpr(v)}`);
      return `${e.fn}(${[...e.args.map(formatExpr), ...kw].join(', ')})`;
    }
    case 'index':
      return `${formatExpr(e.a)}[${e.idx
        .map((it) =>
          it.k === 'int'
            ? String(it.v)
            : it.k === 'ellipsis'
              ? '...'
              : it.k === 'newaxis'
                ? 'None'
                : `${it.start ?? ''}:${it.stop ?? ''}${it.step !== undefined ? `:${it.step}` : ''}`,
        )
        .join(', ')}]`;
  }
}

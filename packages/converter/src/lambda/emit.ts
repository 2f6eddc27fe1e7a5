import { DataType } from '../onnx-model.js';
import type { Dim, Value } from '../graph.js';
import { activation, relu, softmax } from '../layers/activation.js';
import type { LayerCtx } from '../layers/context.js';
import { concatValues } from '../layers/merge.js';
import { ident, like, normAxis } from '../layers/util.js';
import { formatExpr, type Expr, type IndexItem } from './expr.js';

/** What an expression evaluates to: a tensor of the graph, a number folded at conversion time, a list, a flag. */
export type EV =
  { k: 'tensor'; v: Value } | { k: 'num'; n: number } | { k: 'list'; items: EV[] } | { k: 'const'; v: boolean | null };

const BIG = 2 ** 62;
const UNARY_OPS: Record<string, string> = {
  abs: 'Abs',
  sqrt: 'Sqrt',
  exp: 'Exp',
  log: 'Log',
  sign: 'Sign',
  round: 'Round',
  floor: 'Floor',
  ceil: 'Ceil',
  negative: 'Neg',
  reciprocal: 'Reciprocal',
  sin: 'Sin',
  cos: 'Cos',
  erf: 'Erf',
};
const ACTIVATIONS = new Set([
  'relu',
  'sigmoid',
  'hard_sigmoid',
  'tanh',
  'elu',
  'selu',
  'softplus',
  'softsign',
  'swish',
  'silu',
]);
const BINARY_FNS: Record<string, '+' | '-' | '*' | '/' | '**'> = {
  add: '+',
  sub: '-',
  mul: '*',
  div: '/',
  power: '**',
};
const REDUCTIONS: Record<string, string> = {
  sum: 'ReduceSum',
  mean: 'ReduceMean',
  max: 'ReduceMax',
  min: 'ReduceMin',
  prod: 'ReduceProd',
};
const NUM_FOLD: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '**': (a, b) => a ** b,
};
const BIN_OPS = { '+': 'Add', '-': 'Sub', '*': 'Mul', '/': 'Div', '**': 'Pow' } as const;

/** Python's len(range(start, stop, step)) after clamping, as numpy slicing does. */
function sliceLen(n: number, start: number | undefined, stop: number | undefined, step: number): number {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  let s: number;
  let e: number;
  if (step > 0) {
    s = start === undefined ? 0 : clamp(start < 0 ? start + n : start, 0, n);
    e = stop === undefined ? n : clamp(stop < 0 ? stop + n : stop, 0, n);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = start === undefined ? n - 1 : clamp(start < 0 ? start + n : start, -1, n - 1);
  e = stop === undefined ? -1 : clamp(stop < 0 ? stop + n : stop, -1, n - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

function broadcast(a: Dim[], b: Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x === 1) return y;
    if (y === 1) return x;
    return x ?? y;
  });
}

/** Turns an expression tree into ONNX nodes on the Lambda's inputs; the root's output gets the layer's name. */
export class ExprEmitter {
  constructor(
    private readonly cx: LayerCtx,
    private readonly env: Map<string, EV>,
    private readonly what: string,
  ) {}

  private fail(msg: string, e?: Expr): never {
    this.cx.err(`${this.what}: ${msg}${e ? ` in ${formatExpr(e)}` : ''}`);
  }

  private tmp(out: string | undefined, tag: string): string {
    return out ?? `${this.cx.base}_${tag}`;
  }

  tensor(ev: EV, e: Expr): Value {
    if (ev.k !== 'tensor') this.fail('expected a tensor', e);
    return ev.v;
  }

  private num(ev: EV | undefined, e: Expr, dflt?: number): number {
    if (ev === undefined && dflt !== undefined) return dflt;
    if (ev?.k === 'num') return ev.n;
    if (ev?.k === 'const' && typeof ev.v === 'boolean') return ev.v ? 1 : 0;
    this.fail('expected a number', e);
  }

  private axes(ev: EV | undefined, rank: number, e: Expr): number[] | undefined {
    if (ev === undefined || (ev.k === 'const' && ev.v === null)) return undefined;
    const list = ev.k === 'list' ? ev.items : [ev];
    return list.map((x) => {
      const a = normAxis(this.num(x, e), rank);
      if (a < 0 || a >= rank) this.fail(`axis out of range for rank ${rank}`, e);
      return a;
    });
  }

  emit(e: Expr, out?: string): EV {
    switch (e.t) {
      case 'num':
        return { k: 'num', n: e.v };
      case 'const':
        return { k: 'const', v: e.v };
      case 'var': {
        const v = this.env.get(e.name);
        if (!v) this.fail(`unknown name '${e.name}' (known: ${[...this.env.keys()].join(', ')})`);
        return v;
      }
      case 'list':
        return { k: 'list', items: e.items.map((x) => this.emit(x)) };
      case 'neg': {
        const a = this.emit(e.a);
        if (a.k === 'num') return { k: 'num', n: -a.n };
        const v = this.tensor(a, e);
        return { k: 'tensor', v: like(v, this.cx.b.node('Neg', [v.name], this.tmp(out, 'neg'))[0]) };
      }
      case 'bin':
        return this.binary(e.op, this.emit(e.a), this.emit(e.b), e, out);
      case 'index':
        return this.index(this.emit(e.a), e.idx, e, out);
      case 'call':
        return this.call(e, out);
    }
  }

  private binary(op: keyof typeof BIN_OPS, A: EV, B: EV, e: Expr, out: string | undefined): EV {
    const b = this.cx.b;
    if (A.k === 'num' && B.k === 'num') return { k: 'num', n: NUM_FOLD[op](A.n, B.n) };
    const name = this.tmp(out, BIN_OPS[op].toLowerCase());
    if (B.k === 'num') {
      const x = this.tensor(A, e);
      if (op === '**' && B.n === 2) return { k: 'tensor', v: like(x, b.node('Mul', [x.name, x.name], name)[0]) };
      if (op === '**' && B.n === 0.5) return { k: 'tensor', v: like(x, b.node('Sqrt', [x.name], name)[0]) };
      return { k: 'tensor', v: like(x, b.node(BIN_OPS[op], [x.name, b.scalarConst(B.n)], name)[0]) };
    }
    if (A.k === 'num') {
      const y = this.tensor(B, e);
      return { k: 'tensor', v: like(y, b.node(BIN_OPS[op], [b.scalarConst(A.n), y.name], name)[0]) };
    }
    return { k: 'tensor', v: this.elementwise(BIN_OPS[op], [this.tensor(A, e), this.tensor(B, e)], name) };
  }

  /** An element-wise op on tensors: same rank in the first one's layout, else numpy broadcasting in Keras order. */
  private elementwise(op: string, xs: Value[], name: string): Value {
    const b = this.cx.b;
    const sameRank = xs.every((v) => v.shape.length === xs[0].shape.length);
    const perm = sameRank ? xs[0].perm : ident(Math.max(...xs.map((v) => v.shape.length)));
    const ins = xs.map((v) => (sameRank ? b.toPerm(v, perm) : b.toPerm(v, ident(v.shape.length))).name);
    const shape = xs.map((v) => v.shape).reduce(broadcast);
    return { name: b.node(op, ins, name)[0], shape, perm, elemType: DataType.FLOAT };
  }

  private index(A: EV, idx: IndexItem[], e: Expr, out: string | undefined): EV {
    if (A.k === 'list') {
      if (idx.length !== 1 || idx[0].k !== 'int') this.fail('a list of inputs takes one integer index', e);
      const i = idx[0].v < 0 ? idx[0].v + A.items.length : idx[0].v;
      if (!A.items[i]) this.fail(`index ${idx[0].v} out of range for ${A.items.length} inputs`, e);
      return A.items[i];
    }
    const b = this.cx.b;
    const x = b.toPerm(this.tensor(A, e), ident(this.tensor(A, e).shape.length));
    const r = x.shape.length;
    const used = idx.filter((it) => it.k === 'int' || it.k === 'slice').length;
    if (used > r) this.fail(`${used} indices for a rank-${r} tensor`, e);
    const items: IndexItem[] = [];
    for (const it of idx) {
      if (it.k === 'ellipsis') for (let j = 0; j < r - used; j++) items.push({ k: 'slice' });
      else items.push(it);
    }
    while (items.filter((it) => it.k !== 'newaxis').length < r) items.push({ k: 'slice' });
    const starts: number[] = [];
    const ends: number[] = [];
    const steps: number[] = [];
    const axes: number[] = [];
    const squeeze: number[] = [];
    const newAxes: number[] = [];
    const shape: Dim[] = [];
    let axis = 0;
    items.forEach((it) => {
      if (it.k === 'newaxis') {
        newAxes.push(shape.length);
        shape.push(1);
        return;
      }
      const n = x.shape[axis];
      if (it.k === 'int') {
        starts.push(it.v);
        ends.push(it.v === -1 ? BIG : it.v + 1);
        steps.push(1);
        axes.push(axis);
        squeeze.push(axis);
      } else if (it.k === 'slice' && (it.start !== undefined || it.stop !== undefined || (it.step ?? 1) !== 1)) {
        const step = it.step ?? 1;
        if (step === 0) this.fail('slice step cannot be zero', e);
        starts.push(it.start ?? (step > 0 ? 0 : -1));
        ends.push(it.stop ?? (step > 0 ? BIG : -BIG));
        steps.push(step);
        axes.push(axis);
        shape.push(n === null ? null : sliceLen(n, it.start, it.stop, step));
      } else shape.push(n);
      axis++;
    });
    let name = x.name;
    const last = (tag: string, isLast: boolean): string => (isLast ? this.tmp(out, tag) : `${this.cx.base}_${tag}`);
    if (axes.length > 0) {
      const ins = [
        name,
        b.int64Const('starts', starts),
        b.int64Const('ends', ends),
        b.int64Const('axes', axes),
        b.int64Const('steps', steps),
      ];
      name = b.node('Slice', ins, last('slice', squeeze.length === 0 && newAxes.length === 0))[0];
    }
    if (squeeze.length > 0)
      name = b.node('Squeeze', [name, b.int64Const('axes', squeeze)], last('squeeze', newAxes.length === 0))[0];
    if (newAxes.length > 0)
      name = b.node('Unsqueeze', [name, b.int64Const('axes', newAxes)], last('unsqueeze', true))[0];
    if (name === x.name) return { k: 'tensor', v: x };
    return { k: 'tensor', v: { name, shape, perm: ident(shape.length), elemType: x.elemType } };
  }

  private call(e: Extract<Expr, { t: 'call' }>, out: string | undefined): EV {
    const cx = this.cx;
    const b = cx.b;
    const fn = e.fn;
    const arg = (i: number, kw: string): EV | undefined =>
      e.args[i] !== undefined ? this.emit(e.args[i]) : e.kw[kw] !== undefined ? this.emit(e.kw[kw]) : undefined;
    const x = (): Value => {
      const a = arg(0, 'x');
      if (!a) this.fail('missing argument', e);
      return this.tensor(a, e);
    };
    const tensorOut = (v: Value): EV => ({ k: 'tensor', v });
    if (fn === 'epsilon') return { k: 'num', n: 1e-7 };
    if (fn === 'identity') return tensorOut(x());
    if (UNARY_OPS[fn]) {
      const v = x();
      return tensorOut(like(v, b.node(UNARY_OPS[fn], [v.name], this.tmp(out, fn))[0]));
    }
    if (fn === 'square') {
      const v = x();
      return tensorOut(like(v, b.node('Mul', [v.name, v.name], this.tmp(out, 'square'))[0]));
    }
    if (fn === 'rsqrt') {
      const v = x();
      const s = b.node('Sqrt', [v.name], `${cx.base}_sqrt`)[0];
      return tensorOut(like(v, b.node('Reciprocal', [s], this.tmp(out, 'rsqrt'))[0]));
    }
    if (fn === 'relu6') return tensorOut(relu(cx, x(), this.tmp(out, 'relu6'), 6, 0, 0));
    if (ACTIVATIONS.has(fn)) return tensorOut(activation(cx, x(), fn, this.tmp(out, fn)));
    if (fn === 'softmax') {
      const v = x();
      return tensorOut(softmax(cx, v, this.num(arg(1, 'axis'), e, -1), this.tmp(out, 'softmax')));
    }
    if (BINARY_FNS[fn])
      return this.binary(
        BINARY_FNS[fn],
        arg(0, 'x') ?? this.fail('missing argument', e),
        arg(1, 'y') ?? this.fail('missing argument', e),
        e,
        out,
      );
    if (fn === 'maximum' || fn === 'minimum') {
      const A = arg(0, 'x') ?? this.fail('missing argument', e);
      const B = arg(1, 'y') ?? this.fail('missing argument', e);
      const op = fn === 'maximum' ? 'Max' : 'Min';
      if (A.k === 'num' && B.k === 'num')
        return { k: 'num', n: op === 'Max' ? Math.max(A.n, B.n) : Math.min(A.n, B.n) };
      const ts = [A, B].map((v) => (v.k === 'num' ? undefined : this.tensor(v, e)));
      const t = ts.find((v) => v !== undefined)!;
      const names = [A, B].map((v, i) => (v.k === 'num' ? b.scalarConst(v.n) : ts[i]!.name));
      if (ts.every((v) => v !== undefined))
        return tensorOut(this.elementwise(op, ts as Value[], this.tmp(out, op.toLowerCase())));
      return tensorOut(like(t, b.node(op, names, this.tmp(out, op.toLowerCase()))[0]));
    }
    if (fn === 'clip') {
      const v = x();
      const lo = this.num(arg(1, 'min_value') ?? (e.kw.clip_value_min ? this.emit(e.kw.clip_value_min) : undefined), e);
      const hi = this.num(arg(2, 'max_value') ?? (e.kw.clip_value_max ? this.emit(e.kw.clip_value_max) : undefined), e);
      return tensorOut(
        like(v, b.node('Clip', [v.name, b.scalarConst(lo), b.scalarConst(hi)], this.tmp(out, 'clip'))[0]),
      );
    }
    if (REDUCTIONS[fn]) return tensorOut(this.reduce(REDUCTIONS[fn], x(), arg(1, 'axis'), arg(2, 'keepdims'), e, out));
    if (fn === 'l2_normalize') {
      const v = x();
      const [a] = this.axes(arg(1, 'axis'), v.shape.length, e) ?? [v.shape.length - 1];
      // K.l2_normalize: x / sqrt(max(Σx², 1e-12)) over the axis.
      const o = this.tmp(out, 'l2norm');
      const ss = b.reduce('ReduceSumSquare', v.name, [v.perm.indexOf(a)], true, `${o}_sumsq`);
      const cl = b.node('Max', [ss, b.scalarConst(1e-12)], `${o}_clip`)[0];
      const nrm = b.node('Sqrt', [cl], `${o}_norm`)[0];
      return tensorOut({
        name: b.node('Div', [v.name, nrm], o)[0],
        shape: v.shape,
        perm: v.perm,
        elemType: v.elemType,
      });
    }
    if (fn === 'concatenate') {
      const list = arg(0, 'tensors');
      if (!list || list.k !== 'list') this.fail('concatenate takes a list of tensors', e);
      const vs = list.items.map((it) => this.tensor(it, e));
      return tensorOut(concatValues(cx, vs, this.num(arg(1, 'axis'), e, -1), this.tmp(out, 'concat')));
    }
    if (fn === 'expand_dims' || fn === 'squeeze') {
      const v0 = x();
      const v = b.toPerm(v0, ident(v0.shape.length));
      const r = v.shape.length;
      const a = this.num(arg(1, 'axis'), e, fn === 'expand_dims' ? -1 : undefined);
      const shape = [...v.shape];
      if (fn === 'expand_dims') {
        const ax = a < 0 ? a + r + 1 : a;
        shape.splice(ax, 0, 1);
        const name = b.node('Unsqueeze', [v.name, b.int64Const('axes', [ax])], this.tmp(out, 'expand'))[0];
        return tensorOut({ name, shape, perm: ident(r + 1), elemType: v.elemType });
      }
      const ax = normAxis(a, r);
      if (shape[ax] !== null && shape[ax] !== 1) this.fail(`cannot squeeze axis ${a} of size ${shape[ax]}`, e);
      shape.splice(ax, 1);
      const name = b.node('Squeeze', [v.name, b.int64Const('axes', [ax])], this.tmp(out, 'squeeze'))[0];
      return tensorOut({ name, shape, perm: ident(r - 1), elemType: v.elemType });
    }
    if (fn === 'fake_quant') return tensorOut(this.fakeQuant(e, x(), arg, out));
    this.fail(`function '${fn}' is not supported`, e);
  }

  private reduce(
    op: string,
    v: Value,
    axisEv: EV | undefined,
    keepEv: EV | undefined,
    e: Expr,
    out: string | undefined,
  ): Value {
    const r = v.shape.length;
    const axes = this.axes(axisEv, r, e) ?? ident(r);
    const keep = keepEv !== undefined && this.num(keepEv, e) !== 0;
    const name = this.cx.b.reduce(
      op,
      v.name,
      axes.map((a) => v.perm.indexOf(a)).sort((p, q) => p - q),
      keep,
      this.tmp(out, op.slice(6).toLowerCase()),
    );
    if (keep)
      return { name, shape: v.shape.map((d, i) => (axes.includes(i) ? 1 : d)), perm: v.perm, elemType: v.elemType };
    // The remaining axes keep their physical order; renumber the Keras axes they hold.
    const kept = v.perm.filter((k) => !axes.includes(k));
    const order = [...kept].sort((p, q) => p - q);
    return { name, shape: order.map((k) => v.shape[k]), perm: kept.map((k) => order.indexOf(k)), elemType: v.elemType };
  }

  /**
   * tf.quantization.fake_quant_with_min_max_vars/_args: the range nudged so that 0 is representable, values
   * clipped to it, then rounded to 2^bits levels: floor((x − min)/scale + 0.5)·scale + min, in float32 as TF does.
   */
  private fakeQuant(e: Expr, v: Value, arg: (i: number, kw: string) => EV | undefined, out: string | undefined): Value {
    const f = Math.fround;
    const min = f(this.num(arg(1, 'min'), e, -6));
    const max = f(this.num(arg(2, 'max'), e, 6));
    const bits = this.num(arg(3, 'num_bits'), e, 8);
    const narrow = this.num(arg(4, 'narrow_range'), e, 0) !== 0;
    if (!(min <= 0 && max >= 0 && min < max))
      this.fail(`fake_quant needs min <= 0 <= max and min < max (got ${min}, ${max})`, e);
    const qmin = narrow ? 1 : 0;
    const qmax = 2 ** bits - 1;
    const scale = f(f(max - min) / (qmax - qmin));
    const zpFromMin = f(qmin - f(min / scale));
    const zp =
      zpFromMin < qmin ? qmin : zpFromMin > qmax ? qmax : Math.sign(zpFromMin) * Math.round(Math.abs(zpFromMin));
    const nmin = f((qmin - zp) * scale);
    const nmax = f((qmax - zp) * scale);
    const b = this.cx.b;
    const base = this.cx.base;
    const c = b.node('Clip', [v.name, b.scalarConst(nmin), b.scalarConst(nmax)], `${base}_clip`)[0];
    const sh = b.node('Sub', [c, b.scalarConst(nmin)], `${base}_shift`)[0];
    const q = b.node('Mul', [sh, b.scalarConst(f(1 / scale))], `${base}_q`)[0];
    const fl = b.node('Floor', [b.node('Add', [q, b.scalarConst(0.5)], `${base}_half`)[0]], `${base}_round`)[0];
    const back = b.node('Mul', [fl, b.scalarConst(scale)], `${base}_levels`)[0];
    return like(v, b.node('Add', [back, b.scalarConst(nmin)], this.tmp(out, 'fakequant'))[0]);
  }
}

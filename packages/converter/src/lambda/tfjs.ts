import type * as tfNs from '@tensorflow/tfjs';
import type { Expr, IndexItem } from './expr.js';

type TF = typeof tfNs;
type T = tfNs.Tensor;
/** A value of the expression language under TF.js: a tensor, a number, a flag, null or a list of them. */
export type TfValue = T | number | boolean | null | TfValue[];
type V = TfValue;

/**
 * The expression language evaluated with TensorFlow.js ops: an implementation independent of the ONNX emitter,
 * so --verify can run Lambda layers in the Keras reference model.
 */
/** By shape, not instanceof: a bundler or test runner may load a second copy of tfjs-core. */
export function isTensor(v: unknown): v is T {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'dataId' in v && 'shape' in v;
}

export function evalExprTf(tf: TF, e: Expr, env: Map<string, V>): V {
  const ev = (x: Expr): V => evalExprTf(tf, x, env);
  const t = (v: V): T => {
    if (typeof v === 'number') return tf.scalar(v);
    if (isTensor(v)) return v;
    throw new Error('expected a tensor');
  };
  const num = (v: V | undefined, d?: number): number =>
    v === undefined || v === null ? (d as number) : Number(v as number);
  const axes = (v: V | undefined, r: number): number[] | undefined =>
    v === undefined || v === null ? undefined : (Array.isArray(v) ? v : [v]).map((a) => ((a as number) + r) % r);
  switch (e.t) {
    case 'num':
      return e.v;
    case 'const':
      return e.v;
    case 'var': {
      const v = env.get(e.name);
      if (v === undefined) throw new Error(`unknown name ${e.name}`);
      return v;
    }
    case 'list':
      return e.items.map(ev);
    case 'neg': {
      const a = ev(e.a);
      return typeof a === 'number' ? -a : tf.neg(t(a));
    }
    case 'bin': {
      const a = ev(e.a);
      const b = ev(e.b);
      const op = { '+': tf.add, '-': tf.sub, '*': tf.mul, '/': tf.div, '**': tf.pow }[e.op];
      return op(t(a), t(b));
    }
    case 'index': {
      const a = ev(e.a);
      if (Array.isArray(a)) return a[(e.idx[0] as { v: number }).v];
      return index(tf, t(a), e.idx);
    }
    case 'call': {
      const arg = (i: number, k: string): V | undefined =>
        e.args[i] ? ev(e.args[i]) : e.kw[k] ? ev(e.kw[k]) : undefined;
      const x = (): T => t(arg(0, 'x')!);
      const unary: Record<string, (v: T) => T> = {
        abs: tf.abs,
        sqrt: tf.sqrt,
        exp: tf.exp,
        log: tf.log,
        sign: tf.sign,
        round: tf.round,
        floor: tf.floor,
        ceil: tf.ceil,
        negative: tf.neg,
        reciprocal: tf.reciprocal,
        square: tf.square,
        relu: tf.relu,
        relu6: tf.relu6,
        sigmoid: tf.sigmoid,
        tanh: tf.tanh,
        softplus: tf.softplus,
        elu: tf.elu,
        selu: tf.selu,
        identity: (v) => v,
        rsqrt: tf.rsqrt,
        sin: tf.sin,
        cos: tf.cos,
      };
      if (unary[e.fn]) return unary[e.fn](x());
      const red: Record<string, (v: T, a?: number[], k?: boolean) => T> = {
        sum: tf.sum,
        mean: tf.mean,
        max: tf.max,
        min: tf.min,
        prod: tf.prod,
      };
      const v0 = e.fn === 'epsilon' || e.fn === 'concatenate' ? undefined : x();
      const r = v0?.rank ?? 0;
      switch (e.fn) {
        case 'epsilon':
          return 1e-7;
        case 'maximum':
        case 'minimum':
          return (e.fn === 'maximum' ? tf.maximum : tf.minimum)(v0!, t(arg(1, 'y')!));
        case 'add':
        case 'sub':
        case 'mul':
        case 'div':
        case 'power':
          return { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, power: tf.pow }[e.fn](v0!, t(arg(1, 'y')!));
        case 'clip':
          return tf.clipByValue(v0!, num(arg(1, 'min_value')), num(arg(2, 'max_value')));
        case 'l2_normalize': {
          const a = axes(arg(1, 'axis'), r) ?? [r - 1];
          return tf.div(v0!, tf.sqrt(tf.maximum(tf.sum(tf.square(v0!), a, true), 1e-12)));
        }
        case 'softmax': {
          const a = ((num(arg(1, 'axis'), -1) % r) + r) % r;
          const perm = [...Array(r).keys()].filter((i) => i !== a).concat([a]);
          const back = perm.map((_, i) => perm.indexOf(i));
          return tf.transpose(tf.softmax(tf.transpose(v0!, perm)), back);
        }
        case 'expand_dims':
          return tf.expandDims(v0!, num(arg(1, 'axis'), -1));
        case 'squeeze':
          return tf.squeeze(v0!, [((num(arg(1, 'axis')) % r) + r) % r]);
        default:
          if (red[e.fn]) return red[e.fn](v0!, axes(arg(1, 'axis'), r), Boolean(arg(2, 'keepdims') ?? false));
      }
      if (e.fn === 'concatenate') {
        const list = ev(e.args[0]) as V[];
        const ts = list.map(t);
        return tf.concat(ts, ((num(arg(1, 'axis'), -1) % ts[0].rank) + ts[0].rank) % ts[0].rank);
      }
      throw new Error(`function ${e.fn} has no TF.js evaluation`);
    }
  }
}

function index(tf: TF, x: T, idx: IndexItem[]): T {
  const r = x.rank;
  const used = idx.filter((i) => i.k === 'int' || i.k === 'slice').length;
  const items: IndexItem[] = idx.flatMap((i) =>
    i.k === 'ellipsis' ? Array.from({ length: r - used }, () => ({ k: 'slice' }) as IndexItem) : [i],
  );
  while (items.filter((i) => i.k !== 'newaxis').length < r) items.push({ k: 'slice' });
  let y = x;
  let axis = 0;
  const squeeze: number[] = [];
  for (const it of items) {
    if (it.k === 'newaxis') continue;
    const n = y.shape[axis];
    if (it.k === 'int') {
      const i = it.v < 0 ? it.v + n : it.v;
      y = tf.slice(
        y,
        y.shape.map((_, j) => (j === axis ? i : 0)),
        y.shape.map((d, j) => (j === axis ? 1 : d)),
      );
      squeeze.push(axis);
    } else if (it.k === 'slice') {
      const step = it.step ?? 1;
      if (step < 0) y = tf.reverse(y, axis);
      const m = y.shape[axis];
      // In the reversed tensor, Python's start/stop map to m-1-start / m-1-stop.
      const conv = (v: number | undefined, d: number): number => {
        if (v === undefined) return d;
        const p = v < 0 ? v + n : v;
        return step < 0 ? m - 1 - p : p;
      };
      const s = Math.max(0, Math.min(m, conv(it.start, 0)));
      const e = Math.max(
        s,
        Math.min(
          m,
          step < 0 && it.stop !== undefined ? conv(it.stop, m) : it.stop === undefined ? m : conv(it.stop, m),
        ),
      );
      y = tf.slice(
        y,
        y.shape.map((_, j) => (j === axis ? s : 0)),
        y.shape.map((d, j) => (j === axis ? e - s : d)),
      );
      const st = Math.abs(step);
      if (st !== 1) y = tf.gather(y, tf.range(0, e - s, st, 'int32'), axis);
    }
    axis++;
  }
  if (squeeze.length) y = tf.squeeze(y, squeeze);
  let out = 0;
  for (const it of items) {
    if (it.k === 'newaxis') y = tf.expandDims(y, out);
    if (it.k !== 'int') out++;
  }
  return y;
}

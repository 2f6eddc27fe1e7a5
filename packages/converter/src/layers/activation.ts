import type { AttrValue } from '../onnx-model.js';
import type { Value } from '../graph.js';
import type { LayerCtx, LayerFamily } from './context.js';
import { like, normAxis, transposeArray } from './util.js';

const SELU_ALPHA = 1.6732632423543772;
const SELU_GAMMA = 1.0507009873554805;

export function unary(cx: LayerCtx, v: Value, op: string, base: string, attrs: Record<string, AttrValue> = {}): Value {
  return like(v, cx.b.node(op, [v.name], base, attrs)[0]);
}

export function softmax(cx: LayerCtx, v: Value, axis: number, base: string): Value {
  const a = normAxis(axis, v.shape.length);
  return unary(cx, v, 'Softmax', base, { axis: { int: v.perm.indexOf(a) } });
}

export function relu(
  cx: LayerCtx,
  v: Value,
  base: string,
  maxValue: number | null,
  slope: number,
  threshold: number,
): Value {
  const b = cx.b;
  let cur: string;
  if (threshold === 0 && slope === 0) cur = b.node('Relu', [v.name], maxValue === null ? base : `${base}_relu`)[0];
  else if (threshold === 0)
    cur = b.node('LeakyRelu', [v.name], maxValue === null ? base : `${base}_leaky`, { alpha: slope })[0];
  else {
    // x >= t ? x : slope·(x - t)
    const t = b.scalarConst(threshold);
    const ge = b.node('Less', [v.name, t], `${base}_below`)[0];
    const shifted = b.node(
      'Mul',
      [b.node('Sub', [v.name, t], `${base}_shift`)[0], b.scalarConst(slope)],
      `${base}_neg`,
    )[0];
    cur = b.node('Where', [ge, shifted, v.name], maxValue === null ? base : `${base}_thr`)[0];
  }
  if (maxValue !== null) cur = b.node('Min', [cur, b.scalarConst(Number(maxValue))], base)[0];
  return like(v, cur);
}

/** A Keras activation by name (the `activation` option of Conv/Dense/Activation). */
export function activation(cx: LayerCtx, v: Value, act: string, base: string): Value {
  const b = cx.b;
  switch (act) {
    case 'linear':
    case 'None':
      return v;
    case 'relu':
      return unary(cx, v, 'Relu', base);
    case 'relu6':
      return relu(cx, v, base, 6, 0, 0);
    case 'sigmoid':
      return unary(cx, v, 'Sigmoid', base);
    case 'hard_sigmoid':
      // Keras 2: clip(0.2·x + 0.5, 0, 1)
      return unary(cx, v, 'HardSigmoid', base, { alpha: 0.2, beta: 0.5 });
    case 'tanh':
      return unary(cx, v, 'Tanh', base);
    case 'elu':
      return unary(cx, v, 'Elu', base, { alpha: 1 });
    case 'selu':
      return unary(cx, v, 'Selu', base, { alpha: SELU_ALPHA, gamma: SELU_GAMMA });
    case 'softplus':
      return unary(cx, v, 'Softplus', base);
    case 'softsign':
      return unary(cx, v, 'Softsign', base);
    case 'exponential':
      return unary(cx, v, 'Exp', base);
    case 'swish':
    case 'silu': {
      const s = b.node('Sigmoid', [v.name], `${base}_sigmoid`)[0];
      return like(v, b.node('Mul', [v.name, s], base)[0]);
    }
    case 'softmax':
      return softmax(cx, v, -1, base);
    default:
      cx.err(`activation '${act}' is not supported`);
  }
}

function prelu(cx: LayerCtx): Value {
  const x = cx.one();
  const shared = new Set(((cx.config.shared_axes ?? []) as number[]).map(Number));
  const aShape = x.shape.slice(1).map((d, i) => (shared.has(i + 1) ? 1 : cx.staticDim(d, `axis ${i + 1}`)));
  const alpha = cx.weight('alpha', aShape);
  // Slope laid out like x (leading 1 for the batch) so PRelu broadcasts it.
  const kshape = [1, ...aShape];
  const phys = transposeArray(alpha, kshape, x.perm);
  const slope = cx.b.floatConst(
    `${cx.base}/alpha`,
    x.perm.map((k) => kshape[k]),
    phys,
  );
  return { name: cx.b.node('PRelu', [x.name, slope], cx.base)[0], shape: x.shape, perm: x.perm, elemType: x.elemType };
}

export const activationLayers: LayerFamily = {
  Activation: (cx) => [activation(cx, cx.one(), String(cx.config.activation ?? 'linear'), cx.base)],
  ReLU: (cx) => {
    const c = cx.config;
    return [relu(cx, cx.one(), cx.base, c.max_value ?? null, Number(c.negative_slope ?? 0), Number(c.threshold ?? 0))];
  },
  LeakyReLU: (cx) => [
    unary(cx, cx.one(), 'LeakyRelu', cx.base, { alpha: Number(cx.config.alpha ?? cx.config.negative_slope ?? 0.3) }),
  ],
  ELU: (cx) => [unary(cx, cx.one(), 'Elu', cx.base, { alpha: Number(cx.config.alpha ?? 1) })],
  ThresholdedReLU: (cx) => [unary(cx, cx.one(), 'ThresholdedRelu', cx.base, { alpha: Number(cx.config.theta ?? 1) })],
  Softmax: (cx) => {
    const a = cx.config.axis;
    return [softmax(cx, cx.one(), Number(Array.isArray(a) ? a[0] : (a ?? -1)), cx.base)];
  },
  PReLU: (cx) => [prelu(cx)],
};

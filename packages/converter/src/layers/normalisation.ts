import type { KLayer } from '../keras.js';
import type { Value } from '../graph.js';
import { type LayerCtx, type LayerFamily, oneOutput } from './context.js';
import { ident, normAxis } from './util.js';

/** BatchNormalization as a per-channel affine map: scale = γ/√(σ² + ε), shift = β − μ·scale. */
export function bnParams(cx: LayerCtx, bn: KLayer, ch: number): { scale: Float32Array; shift: Float32Array } {
  const bcx = cx.forLayer(bn);
  const eps = Number(bn.config.epsilon ?? 1e-3);
  const gamma = bn.config.scale === false ? undefined : bcx.weight('gamma', [ch]);
  const beta = bn.config.center === false ? undefined : bcx.weight('beta', [ch]);
  const mean = bcx.weight('moving_mean', [ch]);
  const variance = bcx.weight('moving_variance', [ch]);
  const scale = new Float32Array(ch);
  const shift = new Float32Array(ch);
  for (let i = 0; i < ch; i++) {
    // float64 here, float32 only in the stored result, to stay within rounding of TF's own BN.
    const sc = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + eps);
    scale[i] = sc;
    shift[i] = (beta ? beta[i] : 0) - mean[i] * sc;
  }
  return { scale, shift };
}

/**
 * y = γ(x − μ)/√(σ² + ε) + β folded into the producing layer's weights; the output channel is axis 0 of W
 * (`outAxisLast` 0, ONNX Conv) or its last axis (1, Dense kernels).
 */
export function foldBn(
  cx: LayerCtx,
  bn: KLayer,
  W: Float32Array,
  bias: Float32Array | undefined,
  cout: number,
  outAxisLast: 0 | 1,
) {
  const { scale, shift } = bnParams(cx, bn, cout);
  const out = new Float32Array(W.length);
  const per = W.length / cout;
  if (outAxisLast) {
    for (let i = 0; i < W.length; i += cout) for (let ch = 0; ch < cout; ch++) out[i + ch] = W[i + ch] * scale[ch];
  } else {
    for (let ch = 0, i = 0; ch < cout; ch++) {
      const sc = scale[ch];
      for (let j = 0; j < per; j++, i++) out[i] = W[i] * sc;
    }
  }
  const nb = new Float32Array(cout);
  for (let ch = 0; ch < cout; ch++) nb[ch] = (bias ? bias[ch] : 0) * scale[ch] + shift[ch];
  cx.b.folded.push(bn.name);
  return { W: out, bias: nb };
}

function batchNorm(cx: LayerCtx): Value {
  const x = cx.one();
  const c = cx.config;
  const axes = (Array.isArray(c.axis) ? c.axis : [c.axis ?? -1]).map((a: unknown) =>
    normAxis(Number(a), x.shape.length),
  );
  if (axes.length !== 1) cx.err(`normalisation over several axes ${JSON.stringify(c.axis)} is not supported`);
  const axis = axes[0];
  const ch = cx.staticDim(x.shape[axis], `the size of axis ${axis}`);
  const { scale, shift } = bnParams(cx, cx.layer, ch);
  const dims = x.perm.map((k) => (k === axis ? ch : 1));
  const b = cx.b;
  const m = b.node('Mul', [x.name, b.floatConst(`${cx.base}/scale`, dims, scale)], `${cx.base}_scaled`)[0];
  const a = b.node('Add', [m, b.floatConst(`${cx.base}/shift`, dims, shift)], cx.base)[0];
  return { name: a, shape: x.shape, perm: x.perm, elemType: x.elemType };
}

/** Keras LayerNormalization: (x − mean) / √(var + ε) · γ + β, moments over `axis` (one or several axes). */
function layerNorm(cx: LayerCtx): Value {
  const x0 = cx.one();
  const c = cx.config;
  const r = x0.shape.length;
  const axes = [
    ...new Set((Array.isArray(c.axis) ? c.axis : [c.axis ?? -1]).map((a: unknown) => normAxis(Number(a), r))),
  ].sort();
  // One axis keeps the layout; several are normalised in Keras order so γ and β keep theirs.
  const x = axes.length === 1 ? x0 : cx.b.toPerm(x0, ident(r));
  const dims = axes.map((a) => cx.staticDim(x.shape[a], `the size of axis ${a}`));
  const phys = axes.map((a) => x.perm.indexOf(a)).sort((p, q) => p - q);
  const b = cx.b;
  const base = cx.base;
  const mean = b.reduce('ReduceMean', x.name, phys, true, `${base}_mean`);
  const d = b.node('Sub', [x.name, mean], `${base}_centered`)[0];
  const v = b.reduce('ReduceMean', b.node('Mul', [d, d], `${base}_sq`)[0], phys, true, `${base}_var`);
  const sd = b.node(
    'Sqrt',
    [b.node('Add', [v, b.scalarConst(Number(c.epsilon ?? 1e-3))], `${base}_var_eps`)[0]],
    `${base}_std`,
  )[0];
  const gamma = c.scale === false ? undefined : cx.weight('gamma', dims);
  const beta = c.center === false ? undefined : cx.weight('beta', dims);
  const bshape = x.perm.map((k) => (axes.includes(k) ? (x.shape[k] as number) : 1));
  let y = b.node('Div', [d, sd], gamma || beta ? `${base}_normed` : base)[0];
  if (gamma) y = b.node('Mul', [y, b.floatConst(`${base}/gamma`, bshape, gamma)], beta ? `${base}_scaled` : base)[0];
  if (beta) y = b.node('Add', [y, b.floatConst(`${base}/beta`, bshape, beta)], base)[0];
  return { name: y, shape: x.shape, perm: x.perm, elemType: x.elemType };
}

export const normalisationLayers: LayerFamily = {
  BatchNormalization: oneOutput(batchNorm),
  LayerNormalization: oneOutput(layerNorm),
};

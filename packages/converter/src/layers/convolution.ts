import type { AttrValue } from '../onnx-model.js';
import { DataType } from '../onnx-model.js';
import type { Dim, Value } from '../graph.js';
import { activation } from './activation.js';
import { type LayerCtx, type LayerFamily, oneOutput, sameHandler } from './context.js';
import { foldBn } from './normalisation.js';
import { channelsFirstPerm, fmtShape, ident, pair, transposeArray } from './util.js';

/** TF's 'same' padding: total = max((ceil(in/s) - 1)·s + k_eff - in, 0), the odd pixel at the end. */
function samePads(inp: number, k: number, s: number, d: number): [number, number] {
  const keff = (k - 1) * d + 1;
  const out = Math.ceil(inp / s);
  const total = Math.max((out - 1) * s + keff - inp, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export function convOut(inp: Dim, k: number, s: number, d: number, padding: string): Dim {
  if (inp === null) return null;
  const keff = (k - 1) * d + 1;
  if (padding === 'same') return Math.ceil(inp / s);
  if (padding === 'causal') return Math.ceil(inp / s);
  return Math.floor((inp - keff) / s) + 1;
}

/** ONNX pads for Keras's padding modes ('same' as explicit pads when the sizes are known). */
export function convPads(
  cx: LayerCtx,
  x: Value,
  spatialAxes: number[],
  k: number[],
  s: number[],
  d: number[],
  padding: string,
): Record<string, AttrValue> {
  if (padding === 'valid') return { pads: new Array(2 * k.length).fill(0) };
  if (padding === 'causal') return { pads: [...k.map((kk, i) => (kk - 1) * d[i]), ...k.map(() => 0)] };
  if (padding !== 'same') cx.err(`padding '${padding}' is not supported`);
  const dims = spatialAxes.map((a) => x.shape[a]);
  if (dims.some((v) => v === null)) return { auto_pad: 'SAME_UPPER' };
  const ps = dims.map((v, i) => samePads(v as number, k[i], s[i], d[i]));
  return { pads: [...ps.map((p) => p[0]), ...ps.map((p) => p[1])] };
}

function conv(cx: LayerCtx): Value {
  const x = cx.one();
  const c = cx.config;
  const cls = cx.layer.className;
  const base = cx.base;
  const b = cx.b;
  const sd = cls.endsWith('1D') ? 1 : 2;
  const separable = cls.startsWith('Separable');
  const ones = new Array<number>(sd).fill(1);
  const r = sd + 2;
  if (x.shape.length !== r) cx.err(`expects a rank-${r} input, got shape ${fmtShape(x.shape)}`);
  const first = c.data_format === 'channels_first';
  const kerasPerm = first ? ident(r) : channelsFirstPerm(r);
  const xin = b.toPerm(x, kerasPerm);
  const spatialAxes = first ? Array.from({ length: sd }, (_, i) => i + 2) : Array.from({ length: sd }, (_, i) => i + 1);
  const chAxis = first ? 1 : r - 1;
  const cin = cx.staticDim(x.shape[chAxis], 'the number of input channels');
  const k = pair(c.kernel_size, sd);
  const s = pair(c.strides ?? 1, sd);
  const d = pair(c.dilation_rate ?? 1, sd);
  const padding = String(c.padding ?? 'valid');
  const groups = Number(c.groups ?? 1);
  const useBias = c.use_bias !== false;
  let W: Float32Array;
  let wDims: number[];
  let cout: number;
  let group = 1;
  let input = xin.name;
  if (cls === 'DepthwiseConv2D' || separable) {
    const mult = Number(c.depth_multiplier ?? 1);
    const dw = cx.weight('depthwise_kernel', [...k, cin, mult]);
    // [kh, kw, cin, mult] -> [cin·mult, 1, kh, kw]: TF numbers depthwise outputs c·mult + m.
    const dwT = transposeArray(dw, [...k, cin, mult], [sd, sd + 1, ...ident(sd)]);
    if (cls === 'DepthwiseConv2D') {
      W = dwT;
      cout = cin * mult;
      wDims = [cout, 1, ...k];
      group = cin;
    } else {
      const dwName = b.floatConst(`${base}/depthwise_kernel`, [cin * mult, 1, ...k], dwT);
      input = b.node('Conv', [xin.name, dwName], `${base}_depthwise`, {
        ...convPads(cx, x, spatialAxes, k, s, d, padding),
        kernel_shape: k,
        strides: s,
        dilations: d,
        group: { int: cin },
      })[0];
      cout = Number(c.filters);
      const pw = cx.weight('pointwise_kernel', [...ones, cin * mult, cout]);
      W = transposeArray(pw, [...ones, cin * mult, cout], [sd + 1, sd, ...ident(sd)]);
      wDims = [cout, cin * mult, ...ones];
    }
  } else {
    cout = Number(c.filters);
    if (cin % groups !== 0) cx.err(`${cin} input channels do not split into ${groups} groups`);
    const kw = cx.weight('kernel', [...k, cin / groups, cout]);
    W = transposeArray(kw, [...k, cin / groups, cout], [sd + 1, sd, ...ident(sd)]);
    wDims = [cout, cin / groups, ...k];
    group = groups;
  }
  let bias = useBias ? cx.weight('bias', [cout]) : undefined;
  if (cx.bn) ({ W, bias } = foldBn(cx, cx.bn, W, bias, cout, 0));
  const wName = b.floatConst(`${base}/kernel`, wDims, W);
  const inputs = [input, wName];
  if (bias) inputs.push(b.floatConst(`${base}/bias`, [cout], bias));
  const attrs: Record<string, AttrValue> = separable
    ? { kernel_shape: ones }
    : {
        ...convPads(cx, x, spatialAxes, k, s, d, padding),
        kernel_shape: k,
        strides: s,
        dilations: d,
        group: { int: group },
      };
  const act = String(c.activation ?? 'linear');
  const name = b.node('Conv', inputs, act === 'linear' ? base : `${base}_conv`, attrs)[0];
  const outShape: Dim[] = [...x.shape];
  spatialAxes.forEach((ax, i) => (outShape[ax] = convOut(x.shape[ax], k[i], s[i], d[i], padding)));
  outShape[chAxis] = cout;
  const v: Value = { name, shape: outShape, perm: kerasPerm, elemType: DataType.FLOAT };
  return activation(cx, v, act, base);
}

/**
 * Conv2DTranspose: the gradient of a convolution. Keras kernel [kh, kw, out, in] -> ONNX [in, out, kh, kw];
 * 'same' crops what the forward convolution would pad (the odd pixel at the end) so out = in·stride.
 */
function convTranspose(cx: LayerCtx): Value {
  const x = cx.one();
  const c = cx.config;
  const b = cx.b;
  const base = cx.base;
  if (x.shape.length !== 4) cx.err(`expects a rank-4 input, got shape ${fmtShape(x.shape)}`);
  const first = c.data_format === 'channels_first';
  const perm = first ? ident(4) : channelsFirstPerm(4);
  const xin = b.toPerm(x, perm);
  const spatial = first ? [2, 3] : [1, 2];
  const chAxis = first ? 1 : 3;
  const cin = cx.staticDim(x.shape[chAxis], 'the number of input channels');
  const k = pair(c.kernel_size, 2);
  const s = pair(c.strides ?? 1, 2);
  if (pair(c.dilation_rate ?? 1, 2).some((d) => d !== 1)) cx.err('dilation_rate other than 1 is not supported');
  if (c.output_padding !== null && c.output_padding !== undefined) cx.err('output_padding is not supported');
  const padding = String(c.padding ?? 'valid');
  if (padding !== 'valid' && padding !== 'same') cx.err(`padding '${padding}' is not supported`);
  const cout = Number(c.filters);
  const kw = cx.weight('kernel', [...k, cout, cin]);
  const W = transposeArray(kw, [...k, cout, cin], [3, 2, 0, 1]);
  const inputs = [xin.name, b.floatConst(`${base}/kernel`, [cin, cout, ...k], W)];
  if (c.use_bias !== false) inputs.push(b.floatConst(`${base}/bias`, [cout], cx.weight('bias', [cout])));
  const total = k.map((kk, i) => (padding === 'same' ? Math.max(kk - s[i], 0) : 0));
  const attrs: Record<string, AttrValue> = {
    kernel_shape: k,
    strides: s,
    pads: [...total.map((t) => Math.floor(t / 2)), ...total.map((t) => t - Math.floor(t / 2))],
    output_padding: k.map((kk, i) => (padding === 'same' ? Math.max(s[i] - kk, 0) : 0)),
  };
  const act = String(c.activation ?? 'linear');
  const name = b.node('ConvTranspose', inputs, act === 'linear' ? base : `${base}_deconv`, attrs)[0];
  const shape: Dim[] = [...x.shape];
  spatial.forEach((a, i) => {
    const n = x.shape[a];
    shape[a] = n === null ? null : padding === 'same' ? n * s[i] : (n - 1) * s[i] + k[i];
  });
  shape[chAxis] = cout;
  return activation(cx, { name, shape, perm, elemType: DataType.FLOAT }, act, base);
}

export const convolutionLayers: LayerFamily = {
  Conv2DTranspose: oneOutput(convTranspose),
  ...sameHandler(['Conv1D', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv1D', 'SeparableConv2D'], oneOutput(conv)),
};

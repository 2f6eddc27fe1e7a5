import { DataType, type AttrValue } from '../onnx-model.js';
import type { Dim, Value } from '../graph.js';
import { type LayerCtx, type LayerFamily, oneOutput, sameHandler } from './context.js';
import { f32bytes, fmtShape, ident, invert, pair, product } from './util.js';

function spatialAxes(cx: LayerCtx, sd: number): number[] {
  const first = cx.config.data_format === 'channels_first';
  return first ? Array.from({ length: sd }, (_, i) => i + 2) : Array.from({ length: sd }, (_, i) => i + 1);
}

/** Keras padding/cropping specs: int, (a, b) per axis, or ((t, b), (l, r)). */
function amounts(v: unknown, sd: number): [number, number][] {
  if (typeof v === 'number') return new Array(sd).fill([v, v]);
  if (Array.isArray(v)) {
    if (sd === 1 && v.length === 2 && typeof v[0] === 'number') return [[Number(v[0]), Number(v[1])]];
    return v.map((p) => (Array.isArray(p) ? [Number(p[0]), Number(p[1])] : [Number(p), Number(p)]));
  }
  return new Array(sd).fill([1, 1]);
}

function padAxes(cx: LayerCtx, x: Value, axes: number[], am: [number, number][], base: string): Value {
  const r = x.shape.length;
  const begin = new Array(r).fill(0);
  const end = new Array(r).fill(0);
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const j = x.perm.indexOf(a);
    begin[j] = am[i][0];
    end[j] = am[i][1];
    if (shape[a] !== null) shape[a] = (shape[a] as number) + am[i][0] + am[i][1];
  });
  const name = cx.b.node('Pad', [x.name, cx.b.int64Const('pads', [...begin, ...end])], base, { mode: 'constant' })[0];
  return { name, shape, perm: x.perm, elemType: x.elemType };
}

function zeroPad(cx: LayerCtx): Value {
  const x = cx.one();
  const sd = cx.layer.className.endsWith('1D') ? 1 : 2;
  const axes = sd === 1 ? [1] : spatialAxes(cx, sd);
  return padAxes(cx, x, axes, amounts(cx.config.padding ?? 1, sd), cx.base);
}

function crop(cx: LayerCtx): Value {
  const x = cx.one();
  const sd = cx.layer.className.endsWith('1D') ? 1 : 2;
  const axes = sd === 1 ? [1] : spatialAxes(cx, sd);
  const am = amounts(cx.config.cropping ?? 0, sd);
  const starts: number[] = [];
  const ends: number[] = [];
  const phys: number[] = [];
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    phys.push(x.perm.indexOf(a));
    starts.push(am[i][0]);
    ends.push(am[i][1] > 0 ? -am[i][1] : 2 ** 62);
    if (shape[a] !== null) shape[a] = (shape[a] as number) - am[i][0] - am[i][1];
  });
  const b = cx.b;
  const name = b.node(
    'Slice',
    [x.name, b.int64Const('starts', starts), b.int64Const('ends', ends), b.int64Const('axes', phys)],
    cx.base,
  )[0];
  return { name, shape, perm: x.perm, elemType: x.elemType };
}

function upsample(cx: LayerCtx): Value {
  const x = cx.one();
  const c = cx.config;
  const interpolation = String(c.interpolation ?? 'nearest');
  if (interpolation !== 'nearest' && interpolation !== 'bilinear')
    cx.err(`interpolation '${interpolation}' is not supported (nearest, bilinear)`);
  const size = pair(c.size ?? 2, 2);
  const axes = spatialAxes(cx, 2);
  const scales = new Float32Array(x.shape.length).fill(1);
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    scales[x.perm.indexOf(a)] = size[i];
    if (shape[a] !== null) shape[a] = (shape[a] as number) * size[i];
  });
  const b = cx.b;
  const sc = b.uniq(`${cx.base}/scales`);
  b.initializers.push({ name: sc, dataType: DataType.FLOAT, dims: [scales.length], raw: f32bytes(scales) });
  // bilinear: tf.image.resize as tf.keras >= 2.3 and Keras 3 call it (half-pixel centres).
  const attrs: Record<string, AttrValue> =
    interpolation === 'bilinear'
      ? { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }
      : { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
  const name = b.node('Resize', [x.name, '', sc], cx.base, attrs)[0];
  return { name, shape, perm: x.perm, elemType: x.elemType };
}

function flatten(cx: LayerCtx): Value {
  const x = cx.one();
  const r = x.shape.length;
  // Keras's Flatten(data_format='channels_first') moves channels last before flattening.
  const channelsFirst = cx.config.data_format === 'channels_first';
  const perm = channelsFirst && r >= 3 ? [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1] : ident(r);
  const xin = cx.b.toPerm(x, perm);
  const rest = x.shape.slice(1);
  const n = rest.some((d) => d === null) ? null : product(rest as number[]);
  const name = cx.b.node('Flatten', [xin.name], cx.base, { axis: { int: 1 } })[0];
  return { name, shape: [x.shape[0], n], perm: [0, 1], elemType: x.elemType };
}

function reshape(cx: LayerCtx): Value {
  const x = cx.one();
  const target = (cx.config.target_shape as number[]).map(Number);
  const xin = cx.b.toPerm(x, ident(x.shape.length));
  const rest = x.shape.slice(1);
  const total = rest.some((d) => d === null) ? null : product(rest as number[]);
  const known = product(target.filter((t) => t !== -1));
  const shape: Dim[] = [x.shape[0], ...target.map((t) => (t === -1 ? (total === null ? null : total / known) : t))];
  if (total !== null && !target.includes(-1) && known !== total) {
    cx.err(`cannot reshape ${fmtShape(x.shape)} to ${fmtShape([null, ...target])}`);
  }
  const dims = [0, ...target.map((t) => (t === -1 ? (total === null ? -1 : total / known) : t))];
  const name = cx.b.node('Reshape', [xin.name, cx.b.int64Const('shape', dims)], cx.base)[0];
  return { name, shape, perm: ident(shape.length), elemType: x.elemType };
}

function permute(cx: LayerCtx): Value {
  const v = cx.one();
  const dims = cx.config.dims as number[];
  const q = [0, ...dims.map(Number)];
  if (q.length !== v.shape.length) cx.err(`dims ${JSON.stringify(dims)} do not fit input rank ${v.shape.length}`);
  const qinv = invert(q);
  // Only the bookkeeping changes: the data stays where it is.
  return { name: v.name, shape: q.map((a) => v.shape[a]), perm: v.perm.map((a) => qinv[a]), elemType: v.elemType };
}

/** The reference's ChannelPadding (cifar_resnet.py): zeros added on the channel axis. */
function channelPadding(cx: LayerCtx): Value {
  const x = cx.one();
  const c = cx.config;
  const p = Array.isArray(c.padding) ? c.padding.map(Number) : [Number(c.padding ?? 1), Number(c.padding ?? 1)];
  const axis = c.data_format === 'channels_first' ? 1 : x.shape.length - 1;
  return padAxes(cx, x, [axis], [[p[0], p[1]]], cx.base);
}

/** RepeatVector(n): [batch, d] -> [batch, n, d]. */
function repeatVector(cx: LayerCtx): Value {
  const x = cx.b.toPerm(cx.one(), [0, 1]);
  if (x.shape.length !== 2) cx.err(`expects a rank-2 input, got shape ${fmtShape(x.shape)}`);
  const n = Number(cx.config.n);
  const b = cx.b;
  const u = b.node('Unsqueeze', [x.name, b.int64Const('axes', [1])], `${cx.base}_unsqueeze`)[0];
  const name = b.node('Tile', [u, b.int64Const('repeats', [1, n, 1])], cx.base)[0];
  return { name, shape: [x.shape[0], n, x.shape[1]], perm: [0, 1, 2], elemType: x.elemType };
}

export const reshapeLayers: LayerFamily = {
  RepeatVector: oneOutput(repeatVector),
  ...sameHandler(['ZeroPadding1D', 'ZeroPadding2D'], oneOutput(zeroPad)),
  ...sameHandler(['Cropping1D', 'Cropping2D'], oneOutput(crop)),
  UpSampling2D: oneOutput(upsample),
  Flatten: oneOutput(flatten),
  Reshape: oneOutput(reshape),
  Permute: oneOutput(permute),
  ChannelPadding: oneOutput(channelPadding),
};

import { DataType } from '../onnx-model.js';
import type { Value } from '../graph.js';
import { type LayerCtx, type LayerFamily, oneOutput, sameHandler } from './context.js';
import { convOut, convPads } from './convolution.js';
import { channelsFirstPerm, fmtShape, ident, pair } from './util.js';

function pool(cx: LayerCtx): Value {
  const x = cx.one();
  const c = cx.config;
  const cls = cx.layer.className;
  const sd = cls.endsWith('1D') ? 1 : 2;
  const r = sd + 2;
  if (x.shape.length !== r) cx.err(`expects a rank-${r} input, got shape ${fmtShape(x.shape)}`);
  const first = c.data_format === 'channels_first';
  const perm = first ? ident(r) : channelsFirstPerm(r);
  const xin = cx.b.toPerm(x, perm);
  const k = pair(c.pool_size ?? 2, sd);
  const s = c.strides === null || c.strides === undefined ? k : pair(c.strides, sd);
  const padding = String(c.padding ?? 'valid');
  const spatialAxes = first ? Array.from({ length: sd }, (_, i) => i + 2) : Array.from({ length: sd }, (_, i) => i + 1);
  const attrs = { ...convPads(cx, x, spatialAxes, k, s, new Array(sd).fill(1), padding), kernel_shape: k, strides: s };
  const name = cx.b.node(cls.startsWith('Max') ? 'MaxPool' : 'AveragePool', [xin.name], cx.base, attrs)[0];
  const shape = [...x.shape];
  spatialAxes.forEach((ax, i) => (shape[ax] = convOut(x.shape[ax], k[i], s[i], 1, padding)));
  return { name, shape, perm, elemType: DataType.FLOAT };
}

function globalPool(cx: LayerCtx): Value {
  const x = cx.one();
  const c = cx.config;
  const base = cx.base;
  const sd = cx.layer.className.endsWith('1D') ? 1 : 2;
  const r = sd + 2;
  if (x.shape.length !== r) cx.err(`expects a rank-${r} input, got shape ${fmtShape(x.shape)}`);
  const first = c.data_format === 'channels_first';
  const perm = first ? ident(r) : channelsFirstPerm(r);
  const xin = cx.b.toPerm(x, perm);
  const op = cx.layer.className.includes('Average') ? 'GlobalAveragePool' : 'GlobalMaxPool';
  const chAxis = first ? 1 : r - 1;
  const keep = c.keepdims === true;
  const pooled = cx.b.node(op, [xin.name], keep ? base : `${base}_pool`)[0];
  if (keep) {
    const shape = x.shape.map((d, i) => (i === 0 || i === chAxis ? d : 1));
    return { name: pooled, shape, perm, elemType: DataType.FLOAT };
  }
  const name = cx.b.node('Flatten', [pooled], base, { axis: { int: 1 } })[0];
  return { name, shape: [x.shape[0], x.shape[chAxis]], perm: [0, 1], elemType: DataType.FLOAT };
}

export const poolingLayers: LayerFamily = {
  ...sameHandler(['MaxPooling1D', 'AveragePooling1D', 'MaxPooling2D', 'AveragePooling2D'], oneOutput(pool)),
  ...sameHandler(
    ['GlobalAveragePooling1D', 'GlobalMaxPooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D'],
    oneOutput(globalPool),
  ),
};

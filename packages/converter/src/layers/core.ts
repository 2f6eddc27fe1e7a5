import { DataType } from '../onnx-model.js';
import type { Value } from '../graph.js';
import { activation } from './activation.js';
import { type LayerCtx, type LayerFamily, type LayerHandler, oneOutput, sameHandler } from './context.js';
import { foldBn } from './normalisation.js';
import { ident } from './util.js';

function dense(cx: LayerCtx): Value {
  const x = cx.one();
  const c = cx.config;
  const base = cx.base;
  const b = cx.b;
  const r = x.shape.length;
  const units = Number(c.units);
  const cin = cx.staticDim(x.shape[r - 1], 'the last input dimension');
  let K = cx.weight('kernel', [cin, units]);
  let bias = c.use_bias === false ? undefined : cx.weight('bias', [units]);
  if (cx.bn) ({ W: K, bias } = foldBn(cx, cx.bn, K, bias, units, 1));
  const act = String(c.activation ?? 'linear');
  const xin = b.toPerm(x, ident(r));
  const kName = b.floatConst(`${base}/kernel`, [cin, units], K);
  const outBase = act === 'linear' ? base : `${base}_dense`;
  let name: string;
  if (r === 2) {
    const inputs = [xin.name, kName];
    if (bias) inputs.push(b.floatConst(`${base}/bias`, [units], bias));
    name = b.node('Gemm', inputs, outBase)[0];
  } else {
    name = b.node('MatMul', [xin.name, kName], bias ? `${base}_matmul` : outBase)[0];
    if (bias) name = b.node('Add', [name, b.floatConst(`${base}/bias`, [units], bias)], outBase)[0];
  }
  const v: Value = { name, shape: [...x.shape.slice(0, -1), units], perm: ident(r), elemType: DataType.FLOAT };
  return activation(cx, v, act, base);
}

function embedding(cx: LayerCtx): Value {
  const x = cx.one();
  const b = cx.b;
  const inDim = Number(cx.config.input_dim);
  const outDim = Number(cx.config.output_dim);
  const E = cx.weight('embeddings', [inDim, outDim]);
  const xin = b.toPerm(x, ident(x.shape.length));
  const idx = b.node('Cast', [xin.name], `${cx.base}_indices`, { to: { int: DataType.INT64 } })[0];
  const name = b.node('Gather', [b.floatConst(`${cx.base}/embeddings`, [inDim, outDim], E), idx], cx.base, {
    axis: { int: 0 },
  })[0];
  return { name, shape: [...x.shape, outDim], perm: ident(x.shape.length + 1), elemType: DataType.FLOAT };
}

/** Keras classes that do nothing at inference. */
const passThrough: LayerHandler = (cx) => [cx.one()];

export const coreLayers: LayerFamily = {
  Dense: oneOutput(dense),
  Embedding: oneOutput(embedding),
  InputLayer: (cx) => [cx.xs[0]],
  ...sameHandler(
    [
      'Dropout',
      'SpatialDropout1D',
      'SpatialDropout2D',
      'SpatialDropout3D',
      'GaussianNoise',
      'GaussianDropout',
      'AlphaDropout',
      'ActivityRegularization',
      'Masking',
    ],
    passThrough,
  ),
};

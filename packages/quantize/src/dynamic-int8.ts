// Dynamic int8 for Dense layers (Gemm / MatMul with constant weights), ORT's standard pattern: the activation
// is quantised at run time (DynamicQuantizeLinear: uint8, its own scale per call), the weight ahead of time
// (int8, per output column or per tensor), MatMulInteger accumulates in int32, then Cast + Mul by the two
// scales (+ bias). onnxruntime fuses it into DynamicQuantizeMatMul. Convolutions stay float.
import { DataType, getAttribute, makeNode, makeTensor, type onnx } from '@semembed/onnx';
import { excludedNodes } from './exclude.js';
import { GraphIndex, pruneUnused, requireOpset } from './graph.js';
import { quantizeWeights, REDUCED_WEIGHT_MAX } from './qparams.js';

export interface DynamicOptions {
  perChannel?: boolean;
  /** 7-bit weights (default true): MatMulInteger runs the same U8S8 kernel as the static form (see qparams.ts). */
  reduceRange?: boolean;
  /** Node names kept float32 (onnxruntime's nodes_to_exclude). */
  nodesToExclude?: string[];
}

/** [K, N] weight of a plain y = x W (+ b) Gemm / MatMul, transposed from Gemm's transB layout when needed. */
function weightKN(
  n: onnx.NodeProto,
  w: Float32Array,
  dims: number[],
): { data: Float32Array; k: number; n: number } | undefined {
  if (dims.length !== 2) return undefined;
  if (n.opType === 'MatMul') return { data: w, k: dims[0], n: dims[1] };
  const num = (k: string, d: number) => Number(getAttribute(n, k) ?? d);
  if (num('alpha', 1) !== 1 || num('beta', 1) !== 1 || num('transA', 0) !== 0) return undefined;
  if (num('transB', 0) === 0) return { data: w, k: dims[0], n: dims[1] };
  const [N, K] = dims;
  const t = new Float32Array(w.length);
  for (let r = 0; r < N; r++) for (let c = 0; c < K; c++) t[c * N + r] = w[r * K + c];
  return { data: t, k: K, n: N };
}

export function quantizeDynamic(
  model: onnx.ModelProto,
  o: DynamicOptions = {},
): { weights: string[]; skipped: string[] } {
  requireOpset(model, 13);
  const g = model.graph!;
  const ix = new GraphIndex(g);
  const weights: string[] = [];
  const skipped: string[] = [];
  const excluded = excludedNodes(g, o.nodesToExclude, 'the model');
  const nodes: onnx.NodeProto[] = [];
  for (const [i, n] of g.node.entries()) {
    const name = n.name || `${n.opType}#${i}`;
    if (excluded.has(n)) {
      skipped.push(`${name}: --nodes_to_exclude`);
      nodes.push(n);
      continue;
    }
    const w = n.opType === 'Gemm' || n.opType === 'MatMul' ? ix.floatInitializer(n.input[1]) : undefined;
    const kn = w && weightKN(n, w.data, w.t.dims.map(Number));
    if (!kn) {
      if (n.opType === 'Gemm' || n.opType === 'MatMul') {
        skipped.push(`${name}: weight is not a plain 2-D float32 constant`);
      }
      nodes.push(n);
      continue;
    }
    const qmax = (o.reduceRange ?? true) ? REDUCED_WEIGHT_MAX : 127;
    const { q, scales } = quantizeWeights(kn.data, [kn.k, kn.n], o.perChannel ? 1 : undefined, qmax);
    const x = n.input[0];
    const base = ix.fresh(`${name}_dyn`);
    const t = (s: string) => ix.fresh(`${base}_${s}`);
    const [wq, ws, wz, xq, xs, xz, acc, accF, sc, noBias] = [
      'W_quantized',
      'W_scale',
      'W_zero_point',
      'x_quantized',
      'x_scale',
      'x_zero_point',
      'int32',
      'float',
      'scale',
      'no_bias',
    ].map(t);
    const perCol = scales.length > 1;
    g.initializer.push(
      makeTensor(wq, DataType.INT8, [kn.k, kn.n], q),
      makeTensor(ws, DataType.FLOAT, perCol ? [kn.n] : [], scales),
      makeTensor(wz, DataType.INT8, perCol ? [kn.n] : [], new Int8Array(scales.length)),
    );
    const y = n.output[0];
    const bias = n.opType === 'Gemm' && n.input[2] ? n.input[2] : undefined;
    nodes.push(
      makeNode('DynamicQuantizeLinear', [x], [xq, xs, xz], { name: t('DynamicQuantizeLinear') }),
      makeNode('MatMulInteger', [xq, wq, xz, wz], [acc], { name: t('MatMulInteger') }),
      makeNode('Cast', [acc], [accF], { name: t('Cast'), attributes: { to: { int: DataType.FLOAT } } }),
      makeNode('Mul', [xs, ws], [sc], { name: t('scales') }),
      makeNode('Mul', [accF, sc], [bias ? noBias : y], { name: t('Mul') }),
      ...(bias ? [makeNode('Add', [noBias, bias], [y], { name: t('bias') })] : []),
    );
    weights.push(name);
  }
  g.node = nodes;
  pruneUnused(g);
  g.valueInfo = [];
  return { weights, skipped };
}

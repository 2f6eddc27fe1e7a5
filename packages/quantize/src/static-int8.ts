// Static int8 in the QDQ format: QuantizeLinear -> DequantizeLinear pairs on activations (per tensor, from
// calibration ranges), int8 weights per output channel behind a DequantizeLinear, int32 biases. onnxruntime
// (node and web) fuses DQ -> Conv/Gemm/MatMul -> Q into its int8 kernels (QLinearConv, QGemm, QLinearMatMul).
import { DataType, makeNode, makeTensor, type onnx } from '@semembed/onnx';
import type { Range } from './calibrate.js';
import { QuantizeError } from './errors.js';
import { excludedNodes } from './exclude.js';
import { gemmWeightAxis } from './fold-affine.js';
import { GraphIndex, modelInput, pruneUnused, requireOpset, rewire } from './graph.js';
import { activationParams, quantizeBias, quantizeWeights, REDUCED_WEIGHT_MAX } from './qparams.js';

/** Ops with int8 kernels taking a weight (input 1) and an optional bias (input 2). */
const WEIGHTED = new Set(['Conv', 'Gemm', 'MatMul']);
/** Ops that run on int8 between quantised neighbours (ORT drops or fuses their Q/DQ). */
const FLOW = new Set([
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Add',
  'Relu',
  'Flatten',
  'Reshape',
  'Transpose',
  'Concat',
]);

export interface StaticOptions {
  /** One weight scale per output channel (default true). */
  perChannel?: boolean;
  /**
   * 7-bit weights, ±63 (default true): right on every x86 CPU in onnxruntime-node (full-range int8 weights saturate
   * its U8S8 kernel on AVX2 without VNNI, see qparams.ts); false: ±127, for runtimes known not to saturate (wasm,
   * VNNI).
   */
  reduceRange?: boolean;
  /**
   * Activation type: 'uint8' (default; U8S8, the fast path of ORT's x86 and wasm int8 kernels) or 'int8' (S8S8,
   * ORT's default for QDQ, faster on ARM).
   */
  activations?: 'uint8' | 'int8';
  /**
   * 'web' (default, DEFAULT_TARGET): the form onnxruntime-web's wasm kernels run fastest (see README), and
   * onnxruntime-node's x86 kernels at least as fast as the cpu form: a Conv whose reduction depth
   * Cin·kh·kw is below MIN_INT8_DEPTH stays float, pooling / reshaping / residual Adds run int8 only downstream of an
   * int8 op, an Add of a constant stays float, and no affine becomes a depthwise Conv (quantizeModel folds affines
   * into the weights first for this target).
   * 'cpu': every Conv / Gemm / MatMul and every pooling / Add / reshaping op between them runs int8; BN-after-ReLU
   * affines become 1x1 depthwise Convs (the first form; slower on wasm and on onnxruntime-node, kept for comparison).
   */
  target?: 'cpu' | 'web';
  /** Node names kept float32 (onnxruntime's nodes_to_exclude): not quantised, and nothing int8 starts from them. */
  nodesToExclude?: string[];
}

/**
 * The int8 graph form when none is asked for. 'web' since it measured faster than 'cpu' on every runtime here
 * (bench/results/quantize.md: fashion-cnn batch 32 on onnxruntime-node 0.8 vs 6.3 ms, on wasm 2.6 vs 6.3 ms; resnet
 * equal on onnxruntime-node), within 0.5 points of fp32 mAHP@250 and balanced accuracy.
 */
export const DEFAULT_TARGET: 'cpu' | 'web' = 'web';

/**
 * Below this reduction depth (Cin·kh·kw) onnxruntime-web's wasm int8 GEMM is slower than its float SGEMM (packing
 * and requantisation per output cost more than the multiply-adds saved): fashion-cnn's first 3x3 conv on one grey
 * channel (depth 9) took 2.2-2.8 ms as QLinearConv vs 0.6-1.1 ms as float at batch 32.
 */
export const MIN_INT8_DEPTH = 16;

export interface QuantizeReport {
  /** Nodes whose weights are int8. */
  weights: string[];
  /** Activations with a QuantizeLinear / DequantizeLinear pair. */
  activations: number;
  /** Relu nodes folded into the Q of their producer. */
  foldedRelus: number;
  /** Per-channel Mul (+ Add) pairs rewritten as 1x1 depthwise convolutions. */
  depthwise: number;
  skipped: string[];
}

const nodeName = (n: onnx.NodeProto, i: number): string => n.name || `${n.opType}#${i}`;

type Int8Pred = (n: onnx.NodeProto | undefined) => boolean;
const quantOp: Int8Pred = (n) => !!n && (WEIGHTED.has(n.opType ?? '') || FLOW.has(n.opType ?? ''));

/** The nodes that run int8 for `target` (graph order is topological, as ONNX requires). */
function int8Nodes(g: onnx.GraphProto, ix: GraphIndex, target: 'cpu' | 'web', excluded: Set<onnx.NodeProto>): Int8Pred {
  if (target === 'cpu') return (n) => quantOp(n) && !excluded.has(n!);
  const on = new Set<onnx.NodeProto>();
  for (const n of g.node) {
    const op = n.opType ?? '';
    if (excluded.has(n)) continue;
    if (WEIGHTED.has(op)) {
      const w = op === 'Conv' ? ix.initializers.get(n.input[1])?.dims.map(Number) : undefined;
      if (!w || w.slice(1).reduce((a, d) => a * d, 1) >= MIN_INT8_DEPTH) on.add(n);
      continue;
    }
    const acts = n.input.filter((i) => i && !ix.isConstant(i));
    if (!FLOW.has(op) || (op === 'Add' && acts.length !== 2)) continue;
    if (acts.length > 0 && acts.every((i) => on.has(ix.producer.get(i)!))) on.add(n);
  }
  return (n) => !!n && on.has(n);
}

/**
 * Whether `o` (an output of `producer`) gets a Q: always after a Conv (ORT fuses DQ -> Conv -> Q into QLinearConv only
 * with it); after other ops when something int8 reads it. An output read only by float ops (the embedding before
 * L2 normalisation) stays float, so the embedding carries no activation rounding.
 */
function outputQuantised(ix: GraphIndex, producer: onnx.NodeProto, o: string, int8: Int8Pred): boolean {
  return (producer.opType === 'Conv' && int8(producer)) || (ix.consumers.get(o) ?? []).some(int8);
}

/**
 * Removes a Relu right after a weighted op / Add (its only reader) when the Relu's output gets a Q anyway: the Q's
 * clamp at the zero point (range [0, max]) does the Relu's work, and ORT fuses the pair without it.
 */
function foldRelus(g: onnx.GraphProto, ix: GraphIndex, int8: Int8Pred): number {
  let folded = 0;
  for (const relu of [...g.node]) {
    if (relu.opType !== 'Relu') continue;
    const src = relu.input[0];
    const prod = ix.producer.get(src);
    if (!prod || !int8(prod) || !(WEIGHTED.has(prod.opType ?? '') || prod.opType === 'Add') || ix.outputs.has(src)) {
      continue;
    }
    if ((ix.consumers.get(src) ?? []).length !== 1 || ix.outputs.has(relu.output[0])) continue;
    // As if the producer wrote the Relu's output: would that get a Q?
    if (!outputQuantised(ix, prod, relu.output[0], int8)) continue;
    prod.output = prod.output.map((o) => (o === src ? relu.output[0] : o));
    g.node.splice(g.node.indexOf(relu), 1);
    folded++;
  }
  return folded;
}

/**
 * A per-channel Mul (+ Add) on a 4-D activation (a BatchNormalization after the activation, as the reference's
 * `simple` and fashion-cnn have it) becomes a 1x1 depthwise Conv: then it runs as a QLinearConv between its int8
 * neighbours instead of as float broadcasts between a DequantizeLinear and a QuantizeLinear (ORT ran those ~10x
 * slower than the convolution in front of them).
 */
function affineToDepthwise(g: onnx.GraphProto, ix: GraphIndex, excluded: Set<onnx.NodeProto>): number {
  let n = 0;
  const perChannel = (name: string) => {
    const c = ix.floatInitializer(name);
    const d = c?.t.dims.map(Number);
    return c && d && d.length === 4 && d[0] === 1 && d[2] === 1 && d[3] === 1 ? c.data : undefined;
  };
  for (const mul of [...g.node]) {
    if (mul.opType !== 'Mul' || mul.input.length !== 2 || excluded.has(mul)) continue;
    const k = perChannel(mul.input[1]) ? 1 : perChannel(mul.input[0]) ? 0 : -1;
    if (k < 0 || ix.isConstant(mul.input[1 - k])) continue;
    const scale = perChannel(mul.input[k])!;
    const readers = ix.consumers.get(mul.output[0]) ?? [];
    const single = readers.length === 1 && !ix.outputs.has(mul.output[0]);
    const add = single && readers[0].opType === 'Add' && !excluded.has(readers[0]) ? readers[0] : undefined;
    const shift = add && add.input.map((i) => (i === mul.output[0] ? undefined : perChannel(i))).find((x) => x);
    const last = shift ? add! : mul;
    const w = ix.fresh(`${mul.input[k]}_depthwise`),
      b = ix.fresh(`${last.output[0]}_depthwise_bias`);
    const bias = shift ? Float32Array.from(shift) : new Float32Array(scale.length);
    g.initializer.push(
      makeTensor(w, DataType.FLOAT, [scale.length, 1, 1, 1], Float32Array.from(scale)),
      makeTensor(b, DataType.FLOAT, [scale.length], bias),
    );
    ix.initializers.set(w, g.initializer.at(-2)!);
    ix.initializers.set(b, g.initializer.at(-1)!);
    const conv = makeNode('Conv', [mul.input[1 - k], w, b], [last.output[0]], {
      name: ix.fresh(`${last.name || last.output[0]}_depthwise`),
      attributes: { group: { int: scale.length }, kernel_shape: [1, 1] },
    });
    g.node.splice(g.node.indexOf(mul), 1, conv);
    if (shift) g.node.splice(g.node.indexOf(add!), 1);
    n++;
  }
  return n;
}

/** Weighted/flow node inputs and outputs that are activations: the tensors that get a Q/DQ pair. */
function quantisedTensors(g: onnx.GraphProto, ix: GraphIndex, int8: Int8Pred): Set<string> {
  const t = new Set<string>();
  for (const n of g.node) {
    if (!int8(n)) continue;
    const acts = WEIGHTED.has(n.opType ?? '') ? n.input.slice(0, n.opType === 'MatMul' ? 2 : 1) : n.input;
    for (const i of acts) if (i && !ix.isConstant(i)) t.add(i);
    for (const o of n.output) if (outputQuantised(ix, n, o, int8)) t.add(o);
  }
  // Shape-only inputs (Reshape's shape) are int64 constants or computed: never quantise them.
  for (const n of g.node) if (n.opType === 'Reshape' && n.input[1]) t.delete(n.input[1]);
  return t;
}

/** Collects the nodes and initializers a rewrite adds, with fresh names from the graph. */
class Additions {
  readonly inits: onnx.TensorProto[] = [];
  constructor(readonly ix: GraphIndex) {}

  /** `values` (already quantised, of `dataType`) behind a DequantizeLinear; returns the node and its output. */
  dequantized(
    base: string,
    dataType: number,
    dims: number[],
    values: Int8Array | Int32Array,
    scales: Float32Array,
    axis?: number,
  ): { node: onnx.NodeProto; output: string } {
    const ix = this.ix;
    const [q, s, z, dq] = ['quantized', 'scale', 'zero_point', 'dequantized'].map((x) => ix.fresh(`${base}_${x}`));
    const perAxis = axis !== undefined ? [scales.length] : [];
    const zeros = dataType === DataType.INT32 ? new Int32Array(scales.length) : new Int8Array(scales.length);
    this.inits.push(
      makeTensor(q, dataType, dims, values),
      makeTensor(s, DataType.FLOAT, perAxis, scales),
      makeTensor(z, dataType, perAxis, zeros),
    );
    const attributes = axis !== undefined ? { axis: { int: axis } } : undefined;
    const name = ix.fresh(`${base}_DequantizeLinear`);
    const node = makeNode('DequantizeLinear', [q, s, z], [dq], { name, attributes });
    return { node, output: dq };
  }

  /** A QuantizeLinear -> DequantizeLinear pair on activation `t`. */
  qdq(t: string, scale: number, zeroPoint: number, zeroType: number): { nodes: onnx.NodeProto[]; output: string } {
    const ix = this.ix;
    const [s, z, q, dq] = ['scale', 'zero_point', 'quantized', 'dequantized'].map((x) => ix.fresh(`${t}_${x}`));
    this.inits.push(makeTensor(s, DataType.FLOAT, [], [scale]), makeTensor(z, zeroType, [], [zeroPoint]));
    const nodes = [
      makeNode('QuantizeLinear', [t, s, z], [q], { name: ix.fresh(`${t}_QuantizeLinear`) }),
      makeNode('DequantizeLinear', [q, s, z], [dq], { name: ix.fresh(`${t}_DequantizeLinear`) }),
    ];
    return { nodes, output: dq };
  }
}

/** The weight's output-channel axis (undefined: per tensor), or why the node's weight stays float. */
function weightAxis(n: onnx.NodeProto, dims: number[], perChannel: boolean): number | undefined | string {
  const axis = n.opType === 'Conv' ? 0 : n.opType === 'Gemm' ? gemmWeightAxis(n) : dims.length === 2 ? 1 : undefined;
  if (n.opType === 'Gemm' && axis === undefined) return 'Gemm with alpha/beta/transA';
  if (n.opType === 'MatMul' && dims.length !== 2) return `MatMul weight of rank ${dims.length}`;
  return perChannel ? axis : undefined;
}

/** The model rewritten in place to static QDQ int8. `ranges` come from calibrate() on the float model. */
export function quantizeStatic(
  model: onnx.ModelProto,
  ranges: Map<string, Range>,
  o: StaticOptions = {},
): QuantizeReport {
  const perChannel = o.perChannel ?? true;
  const zeroType = (o.activations ?? 'uint8') === 'uint8' ? DataType.UINT8 : DataType.INT8;
  requireOpset(model, 13);
  modelInput(model);
  const g = model.graph!;
  const target = o.target ?? DEFAULT_TARGET;
  // Resolved first: the cpu form's depthwise rewrite replaces Mul / Add nodes (but never an excluded one).
  const excluded = excludedNodes(g, o.nodesToExclude, 'the model');
  const depthwise = target === 'cpu' ? affineToDepthwise(g, new GraphIndex(g), excluded) : 0;
  const int8 = int8Nodes(g, new GraphIndex(g), target, excluded);
  const foldedRelus = foldRelus(g, new GraphIndex(g), int8);
  const ix = new GraphIndex(g);
  const tensors = quantisedTensors(g, ix, int8);
  const report: QuantizeReport = { weights: [], activations: 0, foldedRelus, depthwise, skipped: [] };
  const scaleOf = new Map<string, number>();
  const add = new Additions(ix);
  const qdq = (t: string): onnx.NodeProto[] => {
    const r = ranges.get(t);
    if (!r) throw new QuantizeError(`calibration gave no range for tensor '${t}' (not in the calibration model?)`);
    const p = activationParams(r.min, r.max, zeroType === DataType.UINT8 ? 'uint8' : 'int8');
    const pair = add.qdq(t, p.scale, p.zeroPoint, zeroType);
    scaleOf.set(pair.output, p.scale);
    rewire(ix.consumers.get(t) ?? [], t, pair.output);
    report.activations++;
    return pair.nodes;
  };
  const nodes: onnx.NodeProto[] = [];
  for (const inp of g.input) if (tensors.has(inp.name ?? '')) nodes.push(...qdq(inp.name ?? ''));
  for (const n of g.node) {
    nodes.push(n);
    for (const out of n.output) if (tensors.has(out)) nodes.push(...qdq(out));
  }
  // Weights and biases, now that every activation input has its scale.
  g.node.forEach((n, i) => {
    if (!WEIGHTED.has(n.opType ?? '')) return;
    if (excluded.has(n)) return void report.skipped.push(`${nodeName(n, i)}: --nodes_to_exclude`);
    if (!int8(n)) return void report.skipped.push(`${nodeName(n, i)}: kept float for the ${target} target`);
    const w = ix.floatInitializer(n.input[1]);
    if (!w) return void report.skipped.push(`${nodeName(n, i)}: weight is not a float32 constant`);
    const dims = w.t.dims.map(Number);
    const axis = weightAxis(n, dims, perChannel);
    if (typeof axis === 'string') return void report.skipped.push(`${nodeName(n, i)}: ${axis}`);
    const { q, scales } = quantizeWeights(w.data, dims, axis, (o.reduceRange ?? true) ? REDUCED_WEIGHT_MAX : 127);
    const wq = add.dequantized(n.input[1], DataType.INT8, dims, q, scales, axis);
    nodes.splice(nodes.indexOf(n), 0, wq.node);
    n.input[1] = wq.output;
    report.weights.push(nodeName(n, i));
    const b = n.input[2] ? ix.floatInitializer(n.input[2]) : undefined;
    const xScale = scaleOf.get(n.input[0]);
    if (!b || xScale === undefined || (axis !== undefined && b.data.length !== scales.length)) return;
    const qb = quantizeBias(b.data, xScale, scales.length === 1 ? Float32Array.from(b.data, () => scales[0]) : scales);
    const bq = add.dequantized(n.input[2], DataType.INT32, [b.data.length], qb.q, qb.scales, 0);
    nodes.splice(nodes.indexOf(n), 0, bq.node);
    n.input[2] = bq.output;
  });
  g.node = nodes;
  g.initializer.push(...add.inits);
  pruneUnused(g);
  g.valueInfo = [];
  return report;
}

import { ConverterError } from './errors.js';
import type { KerasWeight } from './h5.js';
import { declaredBatchShape, type KLayer, type KModel, type TensorRef } from './keras.js';
import { DataType, type AttrValue, type NodeProto, type TensorProto, type ValueInfo } from './onnx-proto.js';

export type Dim = number | null;

/**
 * A tensor of the ONNX graph standing for a Keras tensor. `shape` is the Keras shape (batch first);
 * the ONNX tensor holds it transposed: physical axis j holds Keras axis perm[j]. Keeping the Keras view
 * lets each layer ask for the layout it needs (NCHW for Conv, Keras order for Flatten) and lets
 * consecutive layers share one layout without transposes in between.
 */
export interface Value {
  name: string;
  shape: Dim[];
  perm: number[];
  elemType: number;
  /** Transposed copies already emitted, by perm. */
  views?: Map<string, Value>;
}

export type LambdaKind = string;

export interface BuildOptions {
  opset: number;
  fp16: boolean;
  /** 'keras' keeps each input as Keras has it. */
  inputLayout: 'keras' | 'nhwc' | 'nchw';
  lambdas: Record<string, LambdaKind>;
  source: string;
}

export interface BuiltInput {
  name: string;
  layout: 'NHWC' | 'NCHW' | 'other';
  shape: Dim[];
}
export interface BuiltOutput {
  name: string;
  layer: string;
  className: string;
  activation?: string;
  shape: Dim[];
}

export interface BuiltGraph {
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  inputInfo: BuiltInput[];
  outputInfo: BuiltOutput[];
  foldedBatchNorms: string[];
}

/** Resolves a layer's stored weights; nested models see the weights of their own inner layers. */
export type WeightLookup = (layer: string) => KerasWeight[] | undefined;

const ident = (r: number): number[] => Array.from({ length: r }, (_, i) => i);
const channelsFirstPerm = (r: number): number[] => [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
const isIdent = (p: number[]): boolean => p.every((v, i) => v === i);
const permKey = (p: number[]): string => p.join(',');
const invert = (p: number[]): number[] => {
  const q = new Array<number>(p.length);
  p.forEach((v, i) => (q[v] = i));
  return q;
};

/** Reference custom layer (cifar_resnet.py) and Keras classes that do nothing at inference. */
const IDENTITY_LAYERS = new Set([
  'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'GaussianNoise', 'GaussianDropout',
  'AlphaDropout', 'ActivityRegularization', 'Masking',
]);
const FOLDABLE_CONV = new Set(['Conv2D', 'Conv1D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense']);
const SELU_ALPHA = 1.6732632423543772;
const SELU_GAMMA = 1.0507009873554805;

function f32bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** IEEE half from float, round to nearest even. */
function toHalf(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < a.length; i++) {
    f[0] = a[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    let e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1))) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
    out[i] = sign | h;
    e = 0;
  }
  return out;
}

interface LayerCtx {
  layer: KLayer;
  weights: Map<string, KerasWeight>;
  stored: KerasWeight[];
  where: string;
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private used = new Set<string>();
  private constCache = new Map<string, string>();
  readonly folded: string[] = [];

  constructor(readonly opts: BuildOptions) {}

  reserve(name: string): void {
    this.used.add(name);
  }

  uniq(base: string): string {
    const clean = base || 't';
    if (!this.used.has(clean)) {
      this.used.add(clean);
      return clean;
    }
    for (let i = 1; ; i++) {
      const n = `${clean}_${i}`;
      if (!this.used.has(n)) {
        this.used.add(n);
        return n;
      }
    }
  }

  node(opType: string, inputs: string[], outBase: string, attrs: Record<string, AttrValue> = {}, nOut = 1): string[] {
    const outputs = Array.from({ length: nOut }, (_, i) => this.uniq(nOut === 1 ? outBase : `${outBase}_${i}`));
    this.nodes.push({ opType, inputs, outputs, name: this.uniq(`${outputs[0]}/${opType}`), attrs });
    return outputs;
  }

  /** Float weights; with fp16 the large ones are stored as half and cast back, halving the file. */
  floatConst(base: string, dims: number[], data: Float32Array): string {
    if (this.opts.fp16 && data.length >= 64) {
      const h = this.uniq(`${base}_fp16`);
      const half = toHalf(data);
      this.initializers.push({ name: h, dataType: DataType.FLOAT16, dims, raw: new Uint8Array(half.buffer) });
      return this.node('Cast', [h], base, { to: { int: DataType.FLOAT } })[0];
    }
    const name = this.uniq(base);
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, raw: f32bytes(data) });
    return name;
  }

  /** Small shape-like int64 constants, shared between nodes. */
  int64Const(base: string, values: number[]): string {
    const key = `i64:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.uniq(base);
    const a = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dataType: DataType.INT64, dims: [values.length], raw: new Uint8Array(a.buffer) });
    this.constCache.set(key, name);
    return name;
  }

  scalarConst(value: number): string {
    const key = `f32:${value}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.uniq(`const_${String(value).replace(/[^0-9a-z]/gi, '_')}`);
    this.initializers.push({ name, dataType: DataType.FLOAT, dims: [], raw: f32bytes(Float32Array.of(value)) });
    this.constCache.set(key, name);
    return name;
  }

  /** Reduce ops took `axes` as an attribute until opset 18 (ReduceSum: 13), then as an input. */
  reduce(op: string, input: string, axes: number[], keepdims: boolean, base: string): string {
    const axesAsInput = op === 'ReduceSum' ? this.opts.opset >= 13 : this.opts.opset >= 18;
    if (axesAsInput) return this.node(op, [input, this.int64Const('axes', axes)], base, { keepdims: { int: keepdims ? 1 : 0 } })[0];
    return this.node(op, [input], base, { axes, keepdims: { int: keepdims ? 1 : 0 } })[0];
  }

  /** The value in layout `perm`, emitting one Transpose from the original (so transposes never chain). */
  toPerm(v: Value, perm: number[]): Value {
    if (permKey(v.perm) === permKey(perm)) return v;
    v.views ??= new Map();
    const hit = v.views.get(permKey(perm));
    if (hit) return hit;
    const inv = invert(v.perm);
    const tperm = perm.map((k) => inv[k]);
    const name = this.node('Transpose', [v.name], `${v.name}_t`, { perm: tperm })[0];
    const out: Value = { name, shape: v.shape, perm, elemType: v.elemType, views: v.views };
    v.views.set(permKey(perm), out);
    v.views.set(permKey(v.perm), v);
    return out;
  }
}

function physShape(v: Value): Dim[] {
  return v.perm.map((k) => v.shape[k]);
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function pair(v: unknown, n = 2): number[] {
  if (Array.isArray(v)) return v.map(Number);
  return new Array(n).fill(Number(v));
}

function product(a: number[]): number {
  return a.reduce((x, y) => x * y, 1);
}

function fmtShape(s: (number | null)[]): string {
  return `[${s.map((d) => (d === null ? 'None' : d)).join(', ')}]`;
}

/** TF's 'same' padding: total = max((ceil(in/s) - 1)·s + k_eff - in, 0), the odd pixel at the end. */
function samePads(inp: number, k: number, s: number, d: number): [number, number] {
  const keff = (k - 1) * d + 1;
  const out = Math.ceil(inp / s);
  const total = Math.max((out - 1) * s + keff - inp, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function convOut(inp: Dim, k: number, s: number, d: number, padding: string): Dim {
  if (inp === null) return null;
  const keff = (k - 1) * d + 1;
  if (padding === 'same') return Math.ceil(inp / s);
  if (padding === 'causal') return Math.ceil(inp / s);
  return Math.floor((inp - keff) / s) + 1;
}

/** Transposes a row-major array `a` of shape `shape` by `perm` (output axis i = input axis perm[i]). */
export function transposeArray(a: Float32Array, shape: number[], perm: number[]): Float32Array {
  const r = shape.length;
  if (r > 4) throw new Error(`transposeArray: rank ${r} > 4`);
  const inStrides = new Array<number>(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  // Padded to rank 4 so one set of plain nested loops serves every rank (25M-weight models convert in ~0.1 s).
  const pad = 4 - r;
  const od = [...new Array(pad).fill(1), ...perm.map((p) => shape[p])];
  const st = [...new Array(pad).fill(0), ...perm.map((p) => inStrides[p])];
  const out = new Float32Array(a.length);
  let o = 0;
  for (let i0 = 0; i0 < od[0]; i0++) {
    const b0 = i0 * st[0];
    for (let i1 = 0; i1 < od[1]; i1++) {
      const b1 = b0 + i1 * st[1];
      for (let i2 = 0; i2 < od[2]; i2++) {
        const b2 = b1 + i2 * st[2];
        const s3 = st[3];
        for (let i3 = 0, n3 = od[3]; i3 < n3; i3++) out[o++] = a[b2 + i3 * s3];
      }
    }
  }
  return out;
}

function weightKey(name: string): string {
  // 'conv1_1/kernel:0' -> 'kernel'; 'batch_normalization_1/moving_mean:0' -> 'moving_mean'
  const last = name.split('/').pop() ?? name;
  return last.replace(/:\d+$/, '');
}

export class KerasToOnnx {
  readonly b: GraphBuilder;
  private inputInfo: BuiltInput[] = [];

  constructor(opts: BuildOptions) {
    this.b = new GraphBuilder(opts);
  }

  private err(msg: string): never {
    throw new ConverterError(`${this.b.opts.source}: ${msg}`);
  }

  build(model: KModel, lookup: WeightLookup): BuiltGraph {
    const outputNames = model.outputs.map((o, i) => (model.outputs.filter((x) => x.layer === o.layer).length > 1 ? `${o.layer}_${i}` : o.layer));
    for (const n of outputNames) this.b.reserve(n);
    const inputs: Value[] = model.inputs.map((ref) => this.graphInput(model, ref));
    const outs = this.evalModel(model, inputs, lookup, '');
    const outputs: ValueInfo[] = [];
    const outputInfo: BuiltOutput[] = [];
    outs.forEach((v, i) => {
      const want = outputNames[i];
      const id = this.b.toPerm(v, ident(v.shape.length));
      this.b.nodes.push({ opType: 'Identity', inputs: [id.name], outputs: [want], name: this.b.uniq(`${want}/Identity`), attrs: {} });
      outputs.push({ name: want, elemType: id.elemType, shape: v.shape.map((d, j) => (d === null ? (j === 0 ? 'batch' : `${want}_d${j}`) : d)) });
      const layer = model.layers.find((l) => l.name === model.outputs[i].layer);
      outputInfo.push({
        name: want,
        layer: model.outputs[i].layer,
        className: layer?.className ?? '',
        activation: lastActivation(model, model.outputs[i].layer),
        shape: v.shape,
      });
    });
    const inputsVi: ValueInfo[] = this.inputInfo.map((inp) => ({
      name: inp.name,
      elemType: DataType.FLOAT,
      shape: inp.shape.map((d, j) => (d === null ? (j === 0 ? 'batch' : `${inp.name}_d${j}`) : d)),
    }));
    return {
      nodes: this.b.nodes,
      initializers: this.b.initializers,
      inputs: inputsVi,
      outputs,
      inputInfo: this.inputInfo,
      outputInfo,
      foldedBatchNorms: this.b.folded,
    };
  }

  private graphInput(model: KModel, ref: TensorRef): Value {
    const layer = model.layers.find((l) => l.name === ref.layer);
    if (!layer) this.err(`model input '${ref.layer}' is not among the layers`);
    const shape = declaredBatchShape(layer.config);
    if (!shape) {
      this.err(
        `input '${layer.name}' has no input shape: the model was saved before it was built (no input shape, no weights); build it (model.build or a first call) and save again`,
      );
    }
    shape[0] = null;
    const r = shape.length;
    // Which layout does Keras use for this input? Ask the first consumer that says.
    let kerasFirst = false;
    for (const l of model.layers) {
      if (l.inbound.some((node) => node.some((t) => t.layer === layer.name))) {
        if (l.config.data_format === 'channels_first') kerasFirst = true;
        break;
      }
    }
    let perm = ident(r);
    let layout: BuiltInput['layout'] = 'other';
    if (r >= 3) {
      layout = kerasFirst ? 'NCHW' : 'NHWC';
      const want = this.b.opts.inputLayout;
      if (want === 'nchw' && !kerasFirst) {
        perm = channelsFirstPerm(r);
        layout = 'NCHW';
      } else if (want === 'nhwc' && kerasFirst) {
        perm = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
        layout = 'NHWC';
      }
    }
    const name = layer.name;
    this.b.reserve(name);
    const v: Value = { name, shape, perm, elemType: DataType.FLOAT };
    this.inputInfo.push({ name, layout, shape: physShape(v) });
    return v;
  }

  /** Evaluates a (possibly nested) model on the given input values; returns its output values. */
  private evalModel(model: KModel, inputs: Value[], lookup: WeightLookup, prefix: string): Value[] {
    const byName = new Map(model.layers.map((l) => [l.name, l]));
    const memo = new Map<string, Value[]>();
    const key = (l: string, n: number): string => `${l}#${n}`;
    model.inputs.forEach((ref, i) => memo.set(key(ref.layer, ref.node), [inputs[i]]));

    // BatchNormalization right after a convolution that feeds nothing else folds into its weights.
    const consumers = new Map<string, number>();
    for (const l of model.layers) for (const node of l.inbound) for (const t of node) consumers.set(key(t.layer, t.node), (consumers.get(key(t.layer, t.node)) ?? 0) + 1);
    for (const o of model.outputs) consumers.set(key(o.layer, o.node), (consumers.get(key(o.layer, o.node)) ?? 0) + 1);
    const foldInto = new Map<string, KLayer>();
    const foldedBn = new Set<string>();
    for (const l of model.layers) {
      if (l.className !== 'BatchNormalization' || l.inbound.length !== 1 || l.inbound[0].length !== 1) continue;
      const src = byName.get(l.inbound[0][0].layer);
      if (!src || !FOLDABLE_CONV.has(src.className) || src.inbound.length !== 1) continue;
      if ((src.config.activation ?? 'linear') !== 'linear') continue;
      if (consumers.get(key(src.name, 0)) !== 1) continue;
      const axes = Array.isArray(l.config.axis) ? l.config.axis : [l.config.axis ?? -1];
      if (axes.length !== 1) continue;
      const axis = Number(axes[0]);
      const channelsFirst = src.config.data_format === 'channels_first';
      const ok = src.className === 'Dense' ? axis === -1 : channelsFirst ? axis === 1 : axis === -1 || axis === (src.className === 'Conv1D' ? 2 : 3);
      if (!ok) continue;
      foldInto.set(src.name, l);
      foldedBn.add(l.name);
    }

    const visiting = new Set<string>();
    const evalNode = (layerName: string, nodeIdx: number): Value[] => {
      const k = key(layerName, nodeIdx);
      const hit = memo.get(k);
      if (hit) return hit;
      const layer = byName.get(layerName);
      if (!layer) this.err(`layer '${layerName}' is referenced but not defined in the model config`);
      if (layer.className === 'InputLayer') this.err(`input layer '${layerName}' is not among the model's inputs`);
      if (visiting.has(k)) this.err(`layer '${layerName}' is part of a cycle in the model config`);
      visiting.add(k);
      const refs = layer.inbound[nodeIdx];
      if (!refs || refs.length === 0) this.err(`layer '${layerName}' (${layer.className}) has no inbound tensors`);
      const xs = refs.map((t) => {
        const vs = evalNode(t.layer, t.node);
        const v = vs[t.tensor];
        if (!v) this.err(`layer '${layerName}' takes output ${t.tensor} of '${t.layer}', which has ${vs.length}`);
        return v;
      });
      let out: Value[];
      if (layer.model) {
        const inner = layer.model;
        const innerLookup: WeightLookup = (n) => {
          const all = lookup(layer.name) ?? [];
          const mine = all.filter((w) => w.name.split('/').slice(0, -1).includes(n));
          return mine.length > 0 ? mine : lookup(n);
        };
        out = this.evalModel(inner, xs, innerLookup, `${prefix}${layer.name}/`);
      } else if (foldedBn.has(layer.name)) {
        out = xs;
      } else {
        const stored = lookup(layer.name) ?? [];
        const weights = new Map<string, KerasWeight>();
        for (const w of stored) weights.set(weightKey(w.name), w);
        const ctx: LayerCtx = { layer, weights, stored, where: `layer '${prefix}${layer.name}' (${layer.className})` };
        out = this.convertLayer(ctx, xs, nodeIdx, foldInto.get(layer.name), lookup);
      }
      visiting.delete(k);
      memo.set(k, out);
      return out;
    };
    return model.outputs.map((o) => {
      const vs = evalNode(o.layer, o.node);
      const v = vs[o.tensor];
      if (!v) this.err(`model output '${o.layer}' has no output ${o.tensor}`);
      return v;
    });
  }

  private weight(ctx: LayerCtx, key: string, expected: number[]): Float32Array {
    const w = ctx.weights.get(key);
    if (!w) {
      const have = ctx.stored.map((s) => s.name);
      this.err(`${ctx.where}: weight '${key}' is missing (stored: ${have.length ? have.join(', ') : 'none'})${have.length ? '' : '; the file holds no weights for this layer'}`);
    }
    if (w.shape.length !== expected.length || w.shape.some((d, i) => d !== expected[i])) {
      this.err(`${ctx.where}: weight '${w.name}' has shape ${fmtShape(w.shape)}, expected ${fmtShape(expected)}`);
    }
    return w.data;
  }

  private optWeight(ctx: LayerCtx, key: string, expected: number[]): Float32Array | undefined {
    return ctx.weights.has(key) ? this.weight(ctx, key, expected) : undefined;
  }

  private outName(ctx: LayerCtx, node: number): string {
    return node === 0 ? ctx.layer.name : `${ctx.layer.name}_${node}`;
  }

  private staticDim(ctx: LayerCtx, d: Dim, what: string): number {
    if (d === null) this.err(`${ctx.where}: ${what} must be known (the input shape leaves it open)`);
    return d;
  }

  private convertLayer(ctx: LayerCtx, xs: Value[], node: number, bn: KLayer | undefined, lookup: WeightLookup): Value[] {
    const { layer } = ctx;
    const c = layer.config;
    const x = xs[0];
    const base = this.outName(ctx, node);
    const b = this.b;
    const one = (): Value => {
      if (xs.length !== 1) this.err(`${ctx.where}: expected one input, got ${xs.length}`);
      return x;
    };
    switch (layer.className) {
      case 'Conv1D':
      case 'Conv2D':
      case 'DepthwiseConv2D':
      case 'SeparableConv2D':
        return [this.conv(ctx, one(), base, bn, lookup)];
      case 'Dense':
        return [this.dense(ctx, one(), base, bn, lookup)];
      case 'BatchNormalization':
        return [this.batchNorm(ctx, one(), base)];
      case 'Activation':
        return [this.activation(ctx, one(), String(c.activation ?? 'linear'), base)];
      case 'ReLU':
        return [this.relu(one(), base, c.max_value ?? null, Number(c.negative_slope ?? 0), Number(c.threshold ?? 0))];
      case 'LeakyReLU':
        return [this.unary(one(), 'LeakyRelu', base, { alpha: Number(c.alpha ?? c.negative_slope ?? 0.3) })];
      case 'ELU':
        return [this.unary(one(), 'Elu', base, { alpha: Number(c.alpha ?? 1) })];
      case 'ThresholdedReLU':
        return [this.unary(one(), 'ThresholdedRelu', base, { alpha: Number(c.theta ?? 1) })];
      case 'Softmax':
        return [this.softmax(one(), Number(Array.isArray(c.axis) ? c.axis[0] : c.axis ?? -1), base)];
      case 'PReLU':
        return [this.prelu(ctx, one(), base)];
      case 'Add':
      case 'Subtract':
      case 'Multiply':
      case 'Maximum':
      case 'Minimum':
      case 'Average':
        return [this.merge(ctx, xs, base)];
      case 'Concatenate':
        return [this.concat(ctx, xs, base)];
      case 'MaxPooling1D':
      case 'AveragePooling1D':
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        return [this.pool(ctx, one(), base)];
      case 'GlobalAveragePooling1D':
      case 'GlobalMaxPooling1D':
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D':
        return [this.globalPool(ctx, one(), base)];
      case 'ZeroPadding2D':
      case 'ZeroPadding1D':
        return [this.zeroPad(ctx, one(), base)];
      case 'Cropping2D':
      case 'Cropping1D':
        return [this.crop(ctx, one(), base)];
      case 'UpSampling2D':
        return [this.upsample(ctx, one(), base)];
      case 'Flatten':
        return [this.flatten(one(), c.data_format === 'channels_first', base)];
      case 'Reshape':
        return [this.reshape(ctx, one(), base)];
      case 'Permute': {
        const v = one();
        const q = [0, ...(c.dims as number[]).map(Number)];
        if (q.length !== v.shape.length) this.err(`${ctx.where}: dims ${JSON.stringify(c.dims)} do not fit input rank ${v.shape.length}`);
        const qinv = invert(q);
        // Only the bookkeeping changes: the data stays where it is.
        return [{ name: v.name, shape: q.map((a) => v.shape[a]), perm: v.perm.map((a) => qinv[a]), elemType: v.elemType }];
      }
      case 'Embedding':
        return [this.embedding(ctx, one(), base)];
      case 'ChannelPadding':
        return [this.channelPadding(ctx, one(), base)];
      case 'Lambda':
        return [this.lambda(ctx, one(), base)];
      case 'InputLayer':
        return [x];
      default:
        if (IDENTITY_LAYERS.has(layer.className)) return [one()];
        if (layer.className === 'Sequential' || layer.className === 'Model' || layer.className === 'Functional') return [x];
        this.err(`${ctx.where}: layer class ${layer.className} is not supported by the converter`);
    }
  }

  private unary(v: Value, op: string, base: string, attrs: Record<string, AttrValue> = {}): Value {
    return { ...v, views: undefined, name: this.b.node(op, [v.name], base, attrs)[0] };
  }

  private activation(ctx: LayerCtx, v: Value, act: string, base: string): Value {
    const b = this.b;
    switch (act) {
      case 'linear':
      case 'None':
        return v;
      case 'relu':
        return this.unary(v, 'Relu', base);
      case 'relu6':
        return this.relu(v, base, 6, 0, 0);
      case 'sigmoid':
        return this.unary(v, 'Sigmoid', base);
      case 'hard_sigmoid':
        // Keras 2: clip(0.2·x + 0.5, 0, 1)
        return this.unary(v, 'HardSigmoid', base, { alpha: 0.2, beta: 0.5 });
      case 'tanh':
        return this.unary(v, 'Tanh', base);
      case 'elu':
        return this.unary(v, 'Elu', base, { alpha: 1 });
      case 'selu':
        return this.unary(v, 'Selu', base, { alpha: SELU_ALPHA, gamma: SELU_GAMMA });
      case 'softplus':
        return this.unary(v, 'Softplus', base);
      case 'softsign':
        return this.unary(v, 'Softsign', base);
      case 'exponential':
        return this.unary(v, 'Exp', base);
      case 'swish':
      case 'silu': {
        const s = b.node('Sigmoid', [v.name], `${base}_sigmoid`)[0];
        return { ...v, views: undefined, name: b.node('Mul', [v.name, s], base)[0] };
      }
      case 'softmax':
        return this.softmax(v, -1, base);
      default:
        this.err(`${ctx.where}: activation '${act}' is not supported`);
    }
  }

  private softmax(v: Value, axis: number, base: string): Value {
    const a = normAxis(axis, v.shape.length);
    return this.unary(v, 'Softmax', base, { axis: { int: v.perm.indexOf(a) } });
  }

  private relu(v: Value, base: string, maxValue: number | null, slope: number, threshold: number): Value {
    const b = this.b;
    let cur: string;
    if (threshold === 0 && slope === 0) cur = b.node('Relu', [v.name], maxValue === null ? base : `${base}_relu`)[0];
    else if (threshold === 0) cur = b.node('LeakyRelu', [v.name], maxValue === null ? base : `${base}_leaky`, { alpha: slope })[0];
    else {
      // x >= t ? x : slope·(x - t)
      const t = b.scalarConst(threshold);
      const ge = b.node('Less', [v.name, t], `${base}_below`)[0];
      const shifted = b.node('Mul', [b.node('Sub', [v.name, t], `${base}_shift`)[0], b.scalarConst(slope)], `${base}_neg`)[0];
      cur = b.node('Where', [ge, shifted, v.name], maxValue === null ? base : `${base}_thr`)[0];
    }
    if (maxValue !== null) cur = b.node('Min', [cur, b.scalarConst(Number(maxValue))], base)[0];
    return { ...v, views: undefined, name: cur };
  }

  private conv(ctx: LayerCtx, x: Value, base: string, bn: KLayer | undefined, lookup: WeightLookup): Value {
    const c = ctx.layer.config;
    const cls = ctx.layer.className;
    const sd = cls === 'Conv1D' ? 1 : 2;
    const r = sd + 2;
    if (x.shape.length !== r) this.err(`${ctx.where}: expects a rank-${r} input, got shape ${fmtShape(x.shape)}`);
    const first = c.data_format === 'channels_first';
    const kerasPerm = first ? ident(r) : channelsFirstPerm(r);
    const xin = this.b.toPerm(x, kerasPerm);
    const spatialAxes = first ? Array.from({ length: sd }, (_, i) => i + 2) : Array.from({ length: sd }, (_, i) => i + 1);
    const chAxis = first ? 1 : r - 1;
    const cin = this.staticDim(ctx, x.shape[chAxis], 'the number of input channels');
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
    let pre: string | undefined;
    let input = xin.name;
    if (cls === 'DepthwiseConv2D' || cls === 'SeparableConv2D') {
      const mult = Number(c.depth_multiplier ?? 1);
      const dw = this.weight(ctx, 'depthwise_kernel', [...k, cin, mult]);
      // [kh, kw, cin, mult] -> [cin·mult, 1, kh, kw]: TF numbers depthwise outputs c·mult + m.
      const dwT = transposeArray(dw, [...k, cin, mult], [2, 3, 0, 1]);
      if (cls === 'DepthwiseConv2D') {
        W = dwT;
        cout = cin * mult;
        wDims = [cout, 1, ...k];
        group = cin;
      } else {
        const dwName = this.b.floatConst(`${base}/depthwise_kernel`, [cin * mult, 1, ...k], dwT);
        pre = this.b.node('Conv', [xin.name, dwName], `${base}_depthwise`, {
          ...this.convPads(ctx, x, spatialAxes, k, s, d, padding),
          kernel_shape: k,
          strides: s,
          dilations: d,
          group: { int: cin },
        })[0];
        input = pre;
        cout = Number(c.filters);
        const pw = this.weight(ctx, 'pointwise_kernel', [1, 1, cin * mult, cout]);
        W = transposeArray(pw, [1, 1, cin * mult, cout], [3, 2, 0, 1]);
        wDims = [cout, cin * mult, 1, 1];
      }
    } else {
      cout = Number(c.filters);
      if (cin % groups !== 0) this.err(`${ctx.where}: ${cin} input channels do not split into ${groups} groups`);
      const kw = this.weight(ctx, 'kernel', [...k, cin / groups, cout]);
      W = transposeArray(kw, [...k, cin / groups, cout], [sd + 1, sd, ...ident(sd)]);
      wDims = [cout, cin / groups, ...k];
      group = groups;
    }
    let bias = useBias ? this.weight(ctx, 'bias', [cout]) : undefined;
    if (bn) ({ W, bias } = this.foldBn(ctx, bn, W, bias, cout, lookup, 0));
    const wName = this.b.floatConst(`${base}/kernel`, wDims, W);
    const inputs = [input, wName];
    if (bias) inputs.push(this.b.floatConst(`${base}/bias`, [cout], bias));
    const attrs: Record<string, AttrValue> =
      cls === 'SeparableConv2D'
        ? { kernel_shape: [1, 1] }
        : { ...this.convPads(ctx, x, spatialAxes, k, s, d, padding), kernel_shape: k, strides: s, dilations: d, group: { int: group } };
    const act = String(c.activation ?? 'linear');
    const name = this.b.node('Conv', inputs, act === 'linear' ? base : `${base}_conv`, attrs)[0];
    const outShape: Dim[] = [...x.shape];
    spatialAxes.forEach((ax, i) => (outShape[ax] = convOut(x.shape[ax], k[i], s[i], d[i], padding)));
    outShape[chAxis] = cout;
    const v: Value = { name, shape: outShape, perm: kerasPerm, elemType: DataType.FLOAT };
    if (bn) this.b.folded.push(bn.name);
    return this.activation(ctx, v, act, base);
  }

  private convPads(ctx: LayerCtx, x: Value, spatialAxes: number[], k: number[], s: number[], d: number[], padding: string): Record<string, AttrValue> {
    if (padding === 'valid') return { pads: new Array(2 * k.length).fill(0) };
    if (padding === 'causal') return { pads: [...k.map((kk, i) => (kk - 1) * d[i]), ...k.map(() => 0)] };
    if (padding !== 'same') this.err(`${ctx.where}: padding '${padding}' is not supported`);
    const dims = spatialAxes.map((a) => x.shape[a]);
    if (dims.some((v) => v === null)) return { auto_pad: 'SAME_UPPER' };
    const ps = dims.map((v, i) => samePads(v as number, k[i], s[i], d[i]));
    return { pads: [...ps.map((p) => p[0]), ...ps.map((p) => p[1])] };
  }

  /** y = γ(x − μ)/√(σ² + ε) + β folded into the producing layer's weights (output channel = axis 0 of W). */
  private foldBn(ctx: LayerCtx, bn: KLayer, W: Float32Array, bias: Float32Array | undefined, cout: number, lookup: WeightLookup, outAxisLast: 0 | 1) {
    const { scale, shift } = this.bnParams(bn, cout, lookup);
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
    void ctx;
    return { W: out, bias: nb };
  }

  private bnParams(bn: KLayer, ch: number, lookup: WeightLookup): { scale: Float32Array; shift: Float32Array } {
    const stored = lookup(bn.name) ?? [];
    const weights = new Map<string, KerasWeight>();
    for (const w of stored) weights.set(weightKey(w.name), w);
    const bctx: LayerCtx = { layer: bn, weights, stored, where: `layer '${bn.name}' (BatchNormalization)` };
    const eps = Number(bn.config.epsilon ?? 1e-3);
    const gamma = bn.config.scale === false ? undefined : this.weight(bctx, 'gamma', [ch]);
    const beta = bn.config.center === false ? undefined : this.weight(bctx, 'beta', [ch]);
    const mean = this.weight(bctx, 'moving_mean', [ch]);
    const variance = this.weight(bctx, 'moving_variance', [ch]);
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

  private batchNorm(ctx: LayerCtx, x: Value, base: string): Value {
    const c = ctx.layer.config;
    const axes = (Array.isArray(c.axis) ? c.axis : [c.axis ?? -1]).map((a: unknown) => normAxis(Number(a), x.shape.length));
    if (axes.length !== 1) this.err(`${ctx.where}: normalisation over several axes ${JSON.stringify(c.axis)} is not supported`);
    const axis = axes[0];
    const ch = this.staticDim(ctx, x.shape[axis], `the size of axis ${axis}`);
    const lookup: WeightLookup = () => ctx.stored;
    const { scale, shift } = this.bnParams(ctx.layer, ch, lookup);
    const dims = x.perm.map((k) => (k === axis ? ch : 1));
    const m = this.b.node('Mul', [x.name, this.b.floatConst(`${base}/scale`, dims, scale)], `${base}_scaled`)[0];
    const a = this.b.node('Add', [m, this.b.floatConst(`${base}/shift`, dims, shift)], base)[0];
    return { name: a, shape: x.shape, perm: x.perm, elemType: x.elemType };
  }

  private dense(ctx: LayerCtx, x: Value, base: string, bn: KLayer | undefined, lookup: WeightLookup): Value {
    const c = ctx.layer.config;
    const r = x.shape.length;
    const units = Number(c.units);
    const cin = this.staticDim(ctx, x.shape[r - 1], 'the last input dimension');
    let K = this.weight(ctx, 'kernel', [cin, units]);
    let bias = c.use_bias === false ? undefined : this.weight(ctx, 'bias', [units]);
    if (bn) ({ W: K, bias } = this.foldBn(ctx, bn, K, bias, units, lookup, 1));
    const act = String(c.activation ?? 'linear');
    const xin = this.b.toPerm(x, ident(r));
    const kName = this.b.floatConst(`${base}/kernel`, [cin, units], K);
    const outBase = act === 'linear' ? base : `${base}_dense`;
    let name: string;
    if (r === 2) {
      const inputs = [xin.name, kName];
      if (bias) inputs.push(this.b.floatConst(`${base}/bias`, [units], bias));
      name = this.b.node('Gemm', inputs, outBase)[0];
    } else {
      name = this.b.node('MatMul', [xin.name, kName], bias ? `${base}_matmul` : outBase)[0];
      if (bias) name = this.b.node('Add', [name, this.b.floatConst(`${base}/bias`, [units], bias)], outBase)[0];
    }
    if (bn) this.b.folded.push(bn.name);
    const v: Value = { name, shape: [...x.shape.slice(0, -1), units], perm: ident(r), elemType: DataType.FLOAT };
    return this.activation(ctx, v, act, base);
  }

  private prelu(ctx: LayerCtx, x: Value, base: string): Value {
    const c = ctx.layer.config;
    const r = x.shape.length;
    const shared = new Set(((c.shared_axes ?? []) as number[]).map(Number));
    const aShape = x.shape.slice(1).map((d, i) => (shared.has(i + 1) ? 1 : this.staticDim(ctx, d, `axis ${i + 1}`)));
    const alpha = this.weight(ctx, 'alpha', aShape);
    // Slope laid out like x (leading 1 for the batch) so PRelu broadcasts it.
    const kshape = [1, ...aShape];
    const phys = transposeArray(alpha, kshape, x.perm);
    const name = this.b.node('PRelu', [x.name, this.b.floatConst(`${base}/alpha`, x.perm.map((k) => kshape[k]), phys)], base)[0];
    void r;
    return { name, shape: x.shape, perm: x.perm, elemType: x.elemType };
  }

  private merge(ctx: LayerCtx, xs: Value[], base: string): Value {
    if (xs.length < 2) this.err(`${ctx.where}: needs at least two inputs`);
    const perm = xs[0].perm;
    const names = xs.map((v) => {
      if (v.shape.length !== xs[0].shape.length) this.err(`${ctx.where}: inputs have different ranks`);
      return this.b.toPerm(v, perm).name;
    });
    const cls = ctx.layer.className;
    const op = { Add: 'Add', Subtract: 'Sub', Multiply: 'Mul', Maximum: 'Max', Minimum: 'Min', Average: 'Mean' }[cls]!;
    if (cls === 'Subtract' && xs.length !== 2) this.err(`${ctx.where}: Subtract takes exactly two inputs`);
    let name: string;
    if (op === 'Max' || op === 'Min' || op === 'Mean') name = this.b.node(op, names, base)[0];
    else {
      name = names[0];
      for (let i = 1; i < names.length; i++) name = this.b.node(op, [name, names[i]], i === names.length - 1 ? base : `${base}_${i}`)[0];
    }
    const shape = xs[0].shape.map((d, i) => d ?? xs.find((v) => v.shape[i] !== null)?.shape[i] ?? null);
    return { name, shape, perm, elemType: DataType.FLOAT };
  }

  private concat(ctx: LayerCtx, xs: Value[], base: string): Value {
    const r = xs[0].shape.length;
    const axis = normAxis(Number(ctx.layer.config.axis ?? -1), r);
    const perm = xs[0].perm;
    const names = xs.map((v) => this.b.toPerm(v, perm).name);
    const name = this.b.node('Concat', names, base, { axis: { int: perm.indexOf(axis) } })[0];
    const shape = [...xs[0].shape];
    shape[axis] = xs.some((v) => v.shape[axis] === null) ? null : xs.reduce((s, v) => s + (v.shape[axis] as number), 0);
    return { name, shape, perm, elemType: DataType.FLOAT };
  }

  private pool(ctx: LayerCtx, x: Value, base: string): Value {
    const c = ctx.layer.config;
    const cls = ctx.layer.className;
    const sd = cls.endsWith('1D') ? 1 : 2;
    const r = sd + 2;
    if (x.shape.length !== r) this.err(`${ctx.where}: expects a rank-${r} input, got shape ${fmtShape(x.shape)}`);
    const first = c.data_format === 'channels_first';
    const perm = first ? ident(r) : channelsFirstPerm(r);
    const xin = this.b.toPerm(x, perm);
    const k = pair(c.pool_size ?? 2, sd);
    const s = c.strides === null || c.strides === undefined ? k : pair(c.strides, sd);
    const padding = String(c.padding ?? 'valid');
    const spatialAxes = first ? Array.from({ length: sd }, (_, i) => i + 2) : Array.from({ length: sd }, (_, i) => i + 1);
    const attrs = { ...this.convPads(ctx, x, spatialAxes, k, s, new Array(sd).fill(1), padding), kernel_shape: k, strides: s };
    const name = this.b.node(cls.startsWith('Max') ? 'MaxPool' : 'AveragePool', [xin.name], base, attrs)[0];
    const shape = [...x.shape];
    spatialAxes.forEach((ax, i) => (shape[ax] = convOut(x.shape[ax], k[i], s[i], 1, padding)));
    return { name, shape, perm, elemType: DataType.FLOAT };
  }

  private globalPool(ctx: LayerCtx, x: Value, base: string): Value {
    const c = ctx.layer.config;
    const sd = ctx.layer.className.endsWith('1D') ? 1 : 2;
    const r = sd + 2;
    if (x.shape.length !== r) this.err(`${ctx.where}: expects a rank-${r} input, got shape ${fmtShape(x.shape)}`);
    const first = c.data_format === 'channels_first';
    const perm = first ? ident(r) : channelsFirstPerm(r);
    const xin = this.b.toPerm(x, perm);
    const op = ctx.layer.className.includes('Average') ? 'GlobalAveragePool' : 'GlobalMaxPool';
    const chAxis = first ? 1 : r - 1;
    const keep = c.keepdims === true;
    const pooled = this.b.node(op, [xin.name], keep ? base : `${base}_pool`)[0];
    if (keep) {
      const shape = x.shape.map((d, i) => (i === 0 || i === chAxis ? d : 1));
      return { name: pooled, shape, perm, elemType: DataType.FLOAT };
    }
    const name = this.b.node('Flatten', [pooled], base, { axis: { int: 1 } })[0];
    return { name, shape: [x.shape[0], x.shape[chAxis]], perm: [0, 1], elemType: DataType.FLOAT };
  }

  private spatialAxes(ctx: LayerCtx, x: Value, sd: number): number[] {
    const first = ctx.layer.config.data_format === 'channels_first';
    return first ? Array.from({ length: sd }, (_, i) => i + 2) : Array.from({ length: sd }, (_, i) => i + 1);
  }

  /** Keras padding/cropping specs: int, (a, b) per axis, or ((t, b), (l, r)). */
  private amounts(v: unknown, sd: number): [number, number][] {
    if (typeof v === 'number') return new Array(sd).fill([v, v]);
    if (Array.isArray(v)) {
      if (sd === 1 && v.length === 2 && typeof v[0] === 'number') return [[Number(v[0]), Number(v[1])]];
      return v.map((p) => (Array.isArray(p) ? [Number(p[0]), Number(p[1])] : [Number(p), Number(p)]));
    }
    return new Array(sd).fill([1, 1]);
  }

  private zeroPad(ctx: LayerCtx, x: Value, base: string): Value {
    const sd = ctx.layer.className.endsWith('1D') ? 1 : 2;
    const axes = ctx.layer.className.endsWith('1D') ? [1] : this.spatialAxes(ctx, x, sd);
    return this.padAxes(x, axes, this.amounts(ctx.layer.config.padding ?? 1, sd), base);
  }

  private padAxes(x: Value, axes: number[], amounts: [number, number][], base: string): Value {
    const r = x.shape.length;
    const begin = new Array(r).fill(0);
    const end = new Array(r).fill(0);
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const j = x.perm.indexOf(a);
      begin[j] = amounts[i][0];
      end[j] = amounts[i][1];
      if (shape[a] !== null) shape[a] = (shape[a] as number) + amounts[i][0] + amounts[i][1];
    });
    const name = this.b.node('Pad', [x.name, this.b.int64Const('pads', [...begin, ...end])], base, { mode: 'constant' })[0];
    return { name, shape, perm: x.perm, elemType: x.elemType };
  }

  private crop(ctx: LayerCtx, x: Value, base: string): Value {
    const sd = ctx.layer.className.endsWith('1D') ? 1 : 2;
    const axes = ctx.layer.className.endsWith('1D') ? [1] : this.spatialAxes(ctx, x, sd);
    const am = this.amounts(ctx.layer.config.cropping ?? 0, sd);
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
    const b = this.b;
    const name = b.node('Slice', [x.name, b.int64Const('starts', starts), b.int64Const('ends', ends), b.int64Const('axes', phys)], base)[0];
    return { name, shape, perm: x.perm, elemType: x.elemType };
  }

  private upsample(ctx: LayerCtx, x: Value, base: string): Value {
    const c = ctx.layer.config;
    if ((c.interpolation ?? 'nearest') !== 'nearest') this.err(`${ctx.where}: interpolation '${c.interpolation}' is not supported (only 'nearest')`);
    const size = pair(c.size ?? 2, 2);
    const axes = this.spatialAxes(ctx, x, 2);
    const scales = new Float32Array(x.shape.length).fill(1);
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      scales[x.perm.indexOf(a)] = size[i];
      if (shape[a] !== null) shape[a] = (shape[a] as number) * size[i];
    });
    const b = this.b;
    const sc = b.uniq(`${base}/scales`);
    b.initializers.push({ name: sc, dataType: DataType.FLOAT, dims: [scales.length], raw: f32bytes(scales) });
    const name = b.node('Resize', [x.name, '', sc], base, {
      mode: 'nearest',
      coordinate_transformation_mode: 'asymmetric',
      nearest_mode: 'floor',
    })[0];
    return { name, shape, perm: x.perm, elemType: x.elemType };
  }

  private flatten(x: Value, channelsFirst: boolean, base: string): Value {
    const r = x.shape.length;
    // Keras's Flatten(data_format='channels_first') moves channels last before flattening.
    const perm = channelsFirst && r >= 3 ? [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1] : ident(r);
    const xin = this.b.toPerm(x, perm);
    const rest = x.shape.slice(1);
    const n = rest.some((d) => d === null) ? null : product(rest as number[]);
    const name = this.b.node('Flatten', [xin.name], base, { axis: { int: 1 } })[0];
    return { name, shape: [x.shape[0], n], perm: [0, 1], elemType: x.elemType };
  }

  private reshape(ctx: LayerCtx, x: Value, base: string): Value {
    const target = (ctx.layer.config.target_shape as number[]).map(Number);
    const xin = this.b.toPerm(x, ident(x.shape.length));
    const rest = x.shape.slice(1);
    const total = rest.some((d) => d === null) ? null : product(rest as number[]);
    const known = product(target.filter((t) => t !== -1));
    const shape: Dim[] = [x.shape[0], ...target.map((t) => (t === -1 ? (total === null ? null : total / known) : t))];
    if (total !== null && !target.includes(-1) && known !== total) {
      this.err(`${ctx.where}: cannot reshape ${fmtShape(x.shape)} to ${fmtShape([null, ...target])}`);
    }
    const name = this.b.node('Reshape', [xin.name, this.b.int64Const('shape', [0, ...target.map((t) => (t === -1 ? (total === null ? -1 : total / known) : t))])], base)[0];
    return { name, shape, perm: ident(shape.length), elemType: x.elemType };
  }

  private embedding(ctx: LayerCtx, x: Value, base: string): Value {
    const c = ctx.layer.config;
    const inDim = Number(c.input_dim);
    const outDim = Number(c.output_dim);
    const E = this.weight(ctx, 'embeddings', [inDim, outDim]);
    const xin = this.b.toPerm(x, ident(x.shape.length));
    const idx = this.b.node('Cast', [xin.name], `${base}_indices`, { to: { int: DataType.INT64 } })[0];
    const name = this.b.node('Gather', [this.b.floatConst(`${base}/embeddings`, [inDim, outDim], E), idx], base, { axis: { int: 0 } })[0];
    return { name, shape: [...x.shape, outDim], perm: ident(x.shape.length + 1), elemType: DataType.FLOAT };
  }

  private channelPadding(ctx: LayerCtx, x: Value, base: string): Value {
    const c = ctx.layer.config;
    const p = Array.isArray(c.padding) ? c.padding.map(Number) : [Number(c.padding ?? 1), Number(c.padding ?? 1)];
    const axis = c.data_format === 'channels_first' ? 1 : x.shape.length - 1;
    return this.padAxes(x, [axis], [[p[0], p[1]]], base);
  }

  private lambda(ctx: LayerCtx, x: Value, base: string): Value {
    const name = ctx.layer.name;
    const kind = this.b.opts.lambdas[name] ?? (name === 'l2norm' ? 'l2norm' : undefined);
    if (!kind) {
      this.err(
        `${ctx.where}: Lambda layers hold Python code the converter cannot read; say what it computes with --lambda ${name}=l2norm|identity|square|relu|sigmoid|tanh|softmax|scale:<k> (l2norm = the reference's L2 normalisation over the last axis)`,
      );
    }
    const b = this.b;
    const [k, arg] = kind.split(':');
    switch (k) {
      case 'identity':
        return x;
      case 'l2norm': {
        // K.l2_normalize: x / sqrt(max(Σx², 1e-12)) over the last axis.
        const last = x.perm.indexOf(x.shape.length - 1);
        const ss = b.reduce('ReduceSumSquare', x.name, [last], true, `${base}_sumsq`);
        const cl = b.node('Max', [ss, b.scalarConst(1e-12)], `${base}_clip`)[0];
        const nrm = b.node('Sqrt', [cl], `${base}_norm`)[0];
        return { name: b.node('Div', [x.name, nrm], base)[0], shape: x.shape, perm: x.perm, elemType: x.elemType };
      }
      case 'square':
        return { ...x, views: undefined, name: b.node('Mul', [x.name, x.name], base)[0] };
      case 'scale':
        if (arg === undefined || !Number.isFinite(Number(arg))) this.err(`--lambda ${name}=scale:<k> needs a number k`);
        return { ...x, views: undefined, name: b.node('Mul', [x.name, b.scalarConst(Number(arg))], base)[0] };
      case 'relu':
      case 'sigmoid':
      case 'tanh':
      case 'softmax':
        return this.activation(ctx, x, k, base);
      default:
        this.err(`--lambda ${name}=${kind}: unknown kind (use l2norm, identity, square, relu, sigmoid, tanh, softmax or scale:<k>)`);
    }
  }
}

/** The activation that ends a layer's computation, to tell probabilities from logits in the sidecar. */
function lastActivation(model: KModel, layerName: string): string | undefined {
  const l = model.layers.find((x) => x.name === layerName);
  if (!l) return undefined;
  if (l.className === 'Softmax') return 'softmax';
  if (l.className === 'Lambda') return l.name === 'l2norm' ? 'l2norm' : 'lambda';
  if (typeof l.config.activation === 'string') return l.config.activation;
  return undefined;
}

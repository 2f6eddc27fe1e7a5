import { AsyncLocalStorage } from 'node:async_hooks';
import { float32ToHalf } from '@semembed/model';
import { ConverterError } from './errors.js';
import type { KerasWeight } from './h5.js';
import { declaredBatchShape, type KLayer, type KModel, type TensorRef } from './keras.js';
import { DataType, type AttrValue, type NodeProto, type TensorProto, type ValueInfo } from './onnx-model.js';
import { LayerCtx, layerHandler } from './layers/index.js';
import { channelsFirstPerm, f32bytes, ident, invert, permKey, physShape } from './layers/util.js';

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

/** Layers that may take a following BatchNormalization into their weights. */
const FOLDABLE_CONV = new Set(['Conv2D', 'Conv1D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense']);

function sameData(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private used = new Set<string>();
  private constCache = new Map<string, string>();
  private floatCache = new Map<string, { dims: number[]; data: Float32Array; name: string }[]>();
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
    // A model called several times (siamese towers) asks again for the same weights under the same name: share them.
    const seen = this.floatCache.get(base) ?? [];
    const hit = seen.find((e) => e.dims.join(',') === dims.join(',') && sameData(e.data, data));
    if (hit) return hit.name;
    let name: string;
    if (this.opts.fp16 && data.length >= 64) {
      const h = this.uniq(`${base}_fp16`);
      const half = float32ToHalf(data);
      this.initializers.push({ name: h, dataType: DataType.FLOAT16, dims, raw: new Uint8Array(half.buffer) });
      name = this.node('Cast', [h], base, { to: { int: DataType.FLOAT } })[0];
    } else {
      name = this.uniq(base);
      this.initializers.push({ name, dataType: DataType.FLOAT, dims, raw: f32bytes(data) });
    }
    seen.push({ dims, data, name });
    this.floatCache.set(base, seen);
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
    if (axesAsInput)
      return this.node(op, [input, this.int64Const('axes', axes)], base, { keepdims: { int: keepdims ? 1 : 0 } })[0];
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

/** One top-level Keras layer call exposed as an extra graph output (for --verify). */
export interface LayerProbe {
  output: string;
  layer: string;
  className: string;
  node: number;
  /** Which of the call's outputs. */
  index: number;
  shape: Dim[];
  /** Set when the ONNX graph has no tensor for it (a convolution whose BatchNormalization was folded in). */
  foldedInto?: string;
}

/**
 * While a conversion runs inside `layerProbes.run({ probes: [] }, ...)`, every top-level layer call's output is
 * also a graph output (in Keras axis order), listed in the store: --verify compares them with TF.js layer by layer.
 * AsyncLocalStorage keeps other conversions in the same process unaffected.
 */
export const layerProbes = new AsyncLocalStorage<{ probes: LayerProbe[] }>();
export const PROBE_PREFIX = '__layer__/';

export class KerasToOnnx {
  readonly b: GraphBuilder;
  private inputInfo: BuiltInput[] = [];
  private probes: { probe: LayerProbe; value?: Value }[] = [];

  constructor(opts: BuildOptions) {
    this.b = new GraphBuilder(opts);
  }

  private err(msg: string): never {
    throw new ConverterError(`${this.b.opts.source}: ${msg}`);
  }

  build(model: KModel, lookup: WeightLookup): BuiltGraph {
    const outputNames = model.outputs.map((o, i) =>
      model.outputs.filter((x) => x.layer === o.layer).length > 1 ? `${o.layer}_${i}` : o.layer,
    );
    for (const n of outputNames) this.b.reserve(n);
    const inputs: Value[] = model.inputs.map((ref) => this.graphInput(model, ref));
    const outs = this.evalModel(model, inputs, lookup, '');
    const outputs: ValueInfo[] = [];
    const outputInfo: BuiltOutput[] = [];
    outs.forEach((v, i) => {
      const want = outputNames[i];
      const id = this.b.toPerm(v, ident(v.shape.length));
      this.b.nodes.push({
        opType: 'Identity',
        inputs: [id.name],
        outputs: [want],
        name: this.b.uniq(`${want}/Identity`),
        attrs: {},
      });
      outputs.push({
        name: want,
        elemType: id.elemType,
        shape: v.shape.map((d, j) => (d === null ? (j === 0 ? 'batch' : `${want}_d${j}`) : d)),
      });
      const layer = model.layers.find((l) => l.name === model.outputs[i].layer);
      outputInfo.push({
        name: want,
        layer: model.outputs[i].layer,
        className: layer?.className ?? '',
        activation: lastActivation(model, model.outputs[i].layer),
        shape: v.shape,
      });
    });
    const store = layerProbes.getStore();
    for (const { probe, value } of this.probes) {
      if (value && store) {
        const id = this.b.toPerm(value, ident(value.shape.length));
        this.b.nodes.push({
          opType: 'Identity',
          inputs: [id.name],
          outputs: [probe.output],
          name: this.b.uniq(`${probe.output}/Identity`),
          attrs: {},
        });
        outputs.push({
          name: probe.output,
          elemType: id.elemType,
          shape: value.shape.map((d, j) => (d === null ? (j === 0 ? 'batch' : `${probe.output}_d${j}`) : d)),
        });
      }
      store?.probes.push(probe);
    }
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

  private probe(layer: KLayer, node: number, out: Value[], foldedInto: string | undefined): void {
    out.forEach((value, index) => {
      const output = `${PROBE_PREFIX}${layer.name}${node ? `#${node}` : ''}${out.length > 1 ? `@${index}` : ''}`;
      const probe: LayerProbe = {
        output,
        layer: layer.name,
        className: layer.className,
        node,
        index,
        shape: value.shape,
      };
      if (foldedInto) probe.foldedInto = foldedInto;
      this.probes.push({ probe, value: foldedInto ? undefined : value });
    });
  }

  private graphInput(model: KModel, ref: TensorRef): Value {
    const layer = model.layers.find((l) => l.name === ref.layer);
    if (!layer) this.err(`model input '${ref.layer}' is not among the layers`);
    const shape = declaredBatchShape(layer.config);
    if (!shape) {
      this.err(
        `input '${layer.name}' has no input shape: the model was saved before it was built (no input shape, ` +
          'no weights); build it (model.build or a first call) and save again',
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
    for (const l of model.layers)
      for (const node of l.inbound)
        for (const t of node) consumers.set(key(t.layer, t.node), (consumers.get(key(t.layer, t.node)) ?? 0) + 1);
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
      const ok =
        src.className === 'Dense'
          ? axis === -1
          : channelsFirst
            ? axis === 1
            : axis === -1 || axis === (src.className === 'Conv1D' ? 2 : 3);
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
      if (!refs || refs.length === 0) {
        const calls = layer.inbound.filter((n) => n.length > 0).length;
        this.err(
          `layer '${prefix}${layerName}' (${layer.className}) has no inbound tensors for call ${nodeIdx} ` +
            `(the config saves ${calls} call${calls === 1 ? '' : 's'} of it)`,
        );
      }
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
        const cx: LayerCtx = new LayerCtx(this.b, layer, xs, nodeIdx, foldInto.get(layer.name), lookup, prefix);
        const handler = layerHandler(layer.className);
        if (!handler) cx.err(`layer class ${layer.className} is not supported by the converter`);
        out = handler(cx);
      }
      visiting.delete(k);
      memo.set(k, out);
      if (prefix === '' && layerProbes.getStore()) this.probe(layer, nodeIdx, out, foldInto.get(layer.name)?.name);
      return out;
    };
    return model.outputs.map((o) => {
      const vs = evalNode(o.layer, o.node);
      const v = vs[o.tensor];
      if (!v) this.err(`model output '${o.layer}' has no output ${o.tensor}`);
      return v;
    });
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

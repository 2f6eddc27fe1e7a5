/**
 * Keras 2.2.4 functional-model configs as plain JSON, built the way Keras builds them: same auto-names
 * (per-class counters of a fresh Keras session), same layer order (Keras's depth/traversal sort), same
 * per-layer config keys and defaults. Released weights are matched by layer name, so names must be exact.
 */
import { ArchitectureError } from './errors.js';

export type Shape = (number | null)[];
/** One inbound tensor of a node: [layer name, node index, tensor index, call kwargs]. */
export type InboundRef = [string, number, number, Record<string, unknown>];

export interface KerasLayerConfig {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: InboundRef[][];
}

export interface KerasModelConfig {
  class_name: 'Model';
  config: {
    name: string;
    layers: KerasLayerConfig[];
    input_layers: [string, number, number][];
    output_layers: [string, number, number][];
  };
}

/** A symbolic tensor: the (single) output of a layer's first node, with its inferred shape. */
export interface SymTensor {
  readonly layer: string;
  readonly shape: Shape;
}

type Json = Record<string, unknown>;

// Keras casts regulariser factors to float32 and writes them back as Python floats.
export const l2 = (v: number): Json => ({ class_name: 'L1L2', config: { l1: 0.0, l2: Math.fround(v) } });

export const init = {
  glorotUniform: (): Json => ({
    class_name: 'VarianceScaling',
    config: { scale: 1.0, mode: 'fan_avg', distribution: 'uniform', seed: null },
  }),
  glorotNormal: (): Json => ({
    class_name: 'VarianceScaling',
    config: { scale: 1.0, mode: 'fan_avg', distribution: 'normal', seed: null },
  }),
  heNormal: (): Json => ({
    class_name: 'VarianceScaling',
    config: { scale: 2.0, mode: 'fan_in', distribution: 'normal', seed: null },
  }),
  // Keras's 'uniform' alias: RandomUniform(-0.05, 0.05).
  uniform: (): Json => ({ class_name: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } }),
  zeros: (): Json => ({ class_name: 'Zeros', config: {} }),
  ones: (): Json => ({ class_name: 'Ones', config: {} }),
};

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export interface Conv2DOptions {
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: 'same' | 'valid';
  activation?: string;
  useBias?: boolean;
  kernelInitializer?: Json;
  kernelRegularizer?: Json | null;
}

export function conv2dConfig(filters: number, o: Conv2DOptions): Json {
  return {
    filters,
    kernel_size: pair(o.kernelSize),
    strides: pair(o.strides ?? 1),
    padding: o.padding ?? 'valid',
    data_format: 'channels_last',
    dilation_rate: [1, 1],
    ...kernelLayerFields(o),
  };
}

/** The fields Keras's Conv and Dense configs share, in Keras's order (activation, bias, initialisers, ...). */
function kernelLayerFields(o: {
  activation?: string | null;
  useBias?: boolean;
  kernelInitializer?: Json;
  kernelRegularizer?: Json | null;
}): Json {
  return {
    activation: o.activation ?? 'linear',
    use_bias: o.useBias ?? true,
    kernel_initializer: o.kernelInitializer ?? init.glorotUniform(),
    bias_initializer: init.zeros(),
    kernel_regularizer: o.kernelRegularizer ?? null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    bias_constraint: null,
  };
}

export interface BatchNormOptions {
  axis?: number;
  momentum?: number;
  epsilon?: number;
  gammaInitializer?: Json;
}

export function batchNormConfig(o: BatchNormOptions = {}): Json {
  return {
    axis: o.axis ?? -1,
    momentum: o.momentum ?? 0.99,
    epsilon: o.epsilon ?? 0.001,
    center: true,
    scale: true,
    beta_initializer: init.zeros(),
    gamma_initializer: o.gammaInitializer ?? init.ones(),
    moving_mean_initializer: init.zeros(),
    moving_variance_initializer: init.ones(),
    beta_regularizer: null,
    gamma_regularizer: null,
    beta_constraint: null,
    gamma_constraint: null,
  };
}

export function denseConfig(
  units: number,
  o: { activation?: string | null; kernelRegularizer?: Json | null } = {},
): Json {
  return { units, ...kernelLayerFields({ activation: o.activation, kernelRegularizer: o.kernelRegularizer }) };
}

export function pool2dConfig(
  poolSize: number | [number, number],
  strides?: number | [number, number],
  padding: 'valid' | 'same' = 'valid',
): Json {
  return {
    pool_size: pair(poolSize),
    padding,
    // Keras: strides=None means strides = pool_size.
    strides: pair(strides ?? poolSize),
    data_format: 'channels_last',
  };
}

/**
 * The Lambda config we write for the reference's `l2norm`. Keras stores a lambda's marshalled Python
 * bytecode, which nothing outside that exact Python version can load; we store the function's *name*
 * in the bytecode slot, and our tools (TF.js stand-in, converter) recognise known names.
 */
export function lambdaConfig(functionName: string): Json {
  return {
    function: [functionName, null, null],
    function_type: 'lambda',
    output_shape: null,
    output_shape_type: 'raw',
    arguments: {},
  };
}

/** Keras's `_to_snake_case` (base_layer.py), the prefix of auto-generated layer names. */
export function toSnakeCase(name: string): string {
  const intermediate = name.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2');
  const insecure = intermediate.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  return insecure[0] !== '_' ? insecure : 'private' + insecure;
}

/** Python 3's round(): halves go to the even neighbour. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function positive(n: number | null): n is number {
  return n !== null;
}

function inferShape(cls: string, cfg: Json, inputs: Shape[], layerName: string): Shape {
  const x = inputs[0]!;
  const convOut = (size: number | null, k: number, s: number, pad: string): number | null => {
    if (!positive(size)) return null;
    return pad === 'same' ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1;
  };
  switch (cls) {
    case 'Conv2D': {
      const [kh, kw] = cfg.kernel_size as [number, number];
      const [sh, sw] = cfg.strides as [number, number];
      const pad = cfg.padding as string;
      return [null, convOut(x[1]!, kh, sh, pad), convOut(x[2]!, kw, sw, pad), cfg.filters as number];
    }
    case 'AveragePooling2D':
    case 'MaxPooling2D': {
      const [kh, kw] = cfg.pool_size as [number, number];
      const [sh, sw] = cfg.strides as [number, number];
      const pad = cfg.padding as string;
      return [null, convOut(x[1]!, kh, sh, pad), convOut(x[2]!, kw, sw, pad), x[3]!];
    }
    case 'ZeroPadding2D': {
      const [[t, b], [l, r]] = cfg.padding as [[number, number], [number, number]];
      return [null, positive(x[1]!) ? x[1]! + t + b : null, positive(x[2]!) ? x[2]! + l + r : null, x[3]!];
    }
    case 'ChannelPadding': {
      const [a, b] = cfg.padding as [number, number];
      const c = x[x.length - 1]!;
      return [...x.slice(0, -1), positive(c) ? c + a + b : null];
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      return [null, x[3]!];
    case 'Flatten': {
      const rest = x.slice(1);
      return [null, rest.every(positive) ? rest.reduce((p: number, v) => p * (v as number), 1) : null];
    }
    case 'Dense':
      return [...x.slice(0, -1), cfg.units as number];
    case 'Add': {
      for (const s of inputs.slice(1)) {
        if (s.length !== x.length || s.some((v, i) => v !== null && x[i] !== null && v !== x[i])) {
          throw new ArchitectureError(
            `layer ${layerName}: Add inputs have different shapes [${x.join(',')}] and [${s.join(',')}]`,
          );
        }
      }
      return x.slice();
    }
    case 'Activation':
    case 'BatchNormalization':
    case 'Lambda':
    case 'Dropout':
      return x.slice();
    default:
      throw new ArchitectureError(`layer ${layerName}: no shape rule for layer class ${cls}`);
  }
}

interface LayerRecord {
  name: string;
  className: string;
  config: Json;
  inbound: string[];
  shape: Shape;
}

/**
 * A Keras "session": layers created through it get Keras's auto-names, and models cut from it get
 * Keras's layer order. Counters live on the graph, so one graph = one fresh Keras process.
 */
export class KerasGraph {
  private readonly records = new Map<string, LayerRecord>();
  private readonly uids = new Map<string, number>();

  /** K.get_uid(prefix): 1, 2, 3, ... per prefix. */
  uid(prefix: string): number {
    const n = (this.uids.get(prefix) ?? 0) + 1;
    this.uids.set(prefix, n);
    return n;
  }

  autoName(className: string): string {
    return `${toSnakeCase(className)}_${this.uid(toSnakeCase(className))}`;
  }

  /** Input(shape=...): an InputLayer named input_N unless named. */
  input(shape: Shape, name?: string): SymTensor {
    const layerName = name ?? `input_${this.uid('input')}`;
    this.register({
      name: layerName,
      className: 'InputLayer',
      config: { batch_input_shape: [null, ...shape], dtype: 'float32', sparse: false, name: layerName },
      inbound: [],
      shape: [null, ...shape],
    });
    return { layer: layerName, shape: [null, ...shape] };
  }

  /**
   * Applies a new layer to `inputs`. `extra` keys go between the base config and the layer's own keys,
   * where Keras puts `batch_input_shape`/`dtype` for a layer built with `input_shape`.
   */
  apply(className: string, config: Json, inputs: SymTensor | SymTensor[], name?: string, extra: Json = {}): SymTensor {
    const ins = Array.isArray(inputs) ? inputs : [inputs];
    const layerName = name ?? this.autoName(className);
    for (const t of ins) {
      if (!this.records.has(t.layer)) throw new ArchitectureError(`layer ${layerName}: unknown input layer ${t.layer}`);
    }
    const shape = inferShape(
      className,
      config,
      ins.map((t) => t.shape),
      layerName,
    );
    if (shape.some((d) => d !== null && d < 1)) {
      throw new ArchitectureError(
        `layer ${layerName} (${className}): input shape [${ins[0]!.shape.slice(1).join(',')}] is too small, the output would be [${shape.slice(1).join(',')}]`,
      );
    }
    this.register({
      name: layerName,
      className,
      config: { name: layerName, trainable: true, ...extra, ...config },
      inbound: ins.map((t) => t.layer),
      shape,
    });
    return { layer: layerName, shape };
  }

  private register(rec: LayerRecord): void {
    if (this.records.has(rec.name)) throw new ArchitectureError(`duplicate layer name ${rec.name}`);
    this.records.set(rec.name, rec);
  }

  tensor(layerName: string): SymTensor {
    const rec = this.records.get(layerName);
    if (!rec) throw new ArchitectureError(`no layer named ${layerName}`);
    return { layer: rec.name, shape: rec.shape };
  }

  /** Keras's layer order for a model with these outputs (see kerasLayerOrder). */
  orderedLayers(outputs: SymTensor[]): string[] {
    return kerasLayerOrder(
      (layer) => {
        const rec = this.records.get(layer);
        if (!rec) throw new ArchitectureError(`no layer named ${layer}`);
        return [rec.inbound.map((d): [string, number] => [d, 0])];
      },
      outputs.map((o): [string, number] => [o.layer, 0]),
    );
  }

  /** Model(inputs, outputs, name).get_config(), wrapped as save_model writes it: {class_name, config}. */
  model(inputs: SymTensor[], outputs: SymTensor[], name?: string): KerasModelConfig {
    const modelName = name ?? `model_${this.uid('model')}`;
    const order = this.orderedLayers(outputs);
    for (const i of inputs) {
      if (!order.includes(i.layer))
        throw new ArchitectureError(`model ${modelName}: input ${i.layer} is not connected to the outputs`);
    }
    const layers: KerasLayerConfig[] = order.map((n) => {
      const r = this.records.get(n)!;
      return {
        name: r.name,
        class_name: r.className,
        config: structuredClone(r.config),
        inbound_nodes: r.inbound.length === 0 ? [] : [r.inbound.map((d): InboundRef => [d, 0, 0, {}])],
      };
    });
    return {
      class_name: 'Model',
      config: {
        name: modelName,
        layers,
        input_layers: inputs.map((t): [string, number, number] => [t.layer, 0, 0]),
        output_layers: outputs.map((t): [string, number, number] => [t.layer, 0, 0]),
      },
    };
  }
}

/**
 * Keras 2.2.4 Network._map_graph_network's layer order: a depth-first walk from the outputs records the order
 * layers are discovered; a node's depth is its longest path to an output; a layer's depth is the largest of its
 * nodes'; layers are listed by decreasing depth, ties in discovery order.
 * `nodesOf(layer)[i]` lists node i's inbound [layer, node index] pairs; `outputs` are [layer, node index].
 */
export function kerasLayerOrder(
  nodesOf: (layer: string) => [string, number][][],
  outputs: [string, number][],
): string[] {
  const key = (l: string, n: number) => `${n}\u0000${l}`;
  const inboundOf = (l: string, n: number): [string, number][] => {
    const nodes = nodesOf(l);
    // Keras writes an input layer's single node as no inbound_nodes at all.
    if (nodes.length === 0 && n === 0) return [];
    const node = nodes[n];
    if (!node) throw new ArchitectureError(`layer ${l} has no node ${n}`);
    return node;
  };
  const discovery = new Map<string, number>();
  const finished = new Set<string>();
  const inProgress = new Set<string>();
  const decreasingDepth: [string, number][] = [];
  const visit = (l: string, n: number): void => {
    const k = key(l, n);
    if (inProgress.has(k)) throw new ArchitectureError(`cycle in the graph at layer ${l}`);
    if (finished.has(k)) return;
    if (!discovery.has(l)) discovery.set(l, discovery.size);
    inProgress.add(k);
    for (const [dl, dn] of inboundOf(l, n)) visit(dl, dn);
    finished.add(k);
    inProgress.delete(k);
    decreasingDepth.push([l, n]);
  };
  for (const [l, n] of outputs) visit(l, n);

  const nodeDepth = new Map<string, number>();
  const layerDepth = new Map<string, number>();
  for (const [l, n] of [...decreasingDepth].reverse()) {
    const k = key(l, n);
    if (!nodeDepth.has(k)) nodeDepth.set(k, 0);
    const depth = Math.max(nodeDepth.get(k)!, layerDepth.get(l) ?? 0);
    layerDepth.set(l, depth);
    nodeDepth.set(k, depth);
    for (const [dl, dn] of inboundOf(l, n)) {
      const dk = key(dl, dn);
      nodeDepth.set(dk, Math.max(depth + 1, nodeDepth.get(dk) ?? 0));
    }
  }
  const byDepth = new Map<number, string[]>();
  for (const [l, d] of layerDepth) {
    if (!byDepth.has(d)) byDepth.set(d, []);
    byDepth.get(d)!.push(l);
  }
  const order: string[] = [];
  for (const d of [...byDepth.keys()].sort((a, b) => b - a)) {
    order.push(...byDepth.get(d)!.sort((a, b) => discovery.get(a)! - discovery.get(b)!));
  }
  return order;
}

/** The form `model.to_json()` writes (save_model's attribute has no version keys). */
export function toKerasJson(model: KerasModelConfig): string {
  return JSON.stringify({ ...model, keras_version: '2.2.4', backend: 'tensorflow' });
}

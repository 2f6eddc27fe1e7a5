import { ConverterError } from './errors.js';

/** A reference to one output tensor of one call ("node") of a layer, as Keras's inbound_nodes give it. */
/**
 * A Keras JSON config object (a layer's `config`, a model's `config`, a serialised function). Keras writes these
 * without a schema that TypeScript could express (fields differ by class and Keras version), so they are typed
 * loosely here, once, and each layer handler checks the fields it reads.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KerasConfig = Record<string, any>;

export interface TensorRef {
  layer: string;
  node: number;
  tensor: number;
}

/** One layer of a normalised Keras graph. A nested model carries its own graph in `model`. */
export interface KLayer {
  name: string;
  className: string;
  config: KerasConfig;
  /** Per call of the layer: the tensors it takes. */
  inbound: TensorRef[][];
  model?: KModel;
}

/**
 * A Keras model in functional form, whatever form (Sequential list / dict, Model, Functional, Keras >= 2.13)
 * it was saved in.
 */
export interface KModel {
  name: string;
  className: string;
  layers: KLayer[];
  inputs: TensorRef[];
  outputs: TensorRef[];
}

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);
const KERAS1_CLASSES = new Set([
  'Convolution2D',
  'Convolution1D',
  'AtrousConvolution2D',
  'MaxoutDense',
  'Merge',
  'Deconvolution2D',
]);

function isObj(v: unknown): v is KerasConfig {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keras 3 writes each inbound tensor as {class_name: '__keras_tensor__', config: {keras_history: [...]}}. */
function collectHistory(v: unknown, out: TensorRef[]): void {
  if (Array.isArray(v)) {
    if (v.length >= 3 && typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') {
      out.push({ layer: v[0], node: v[1], tensor: v[2] });
      return;
    }
    for (const x of v) collectHistory(x, out);
  } else if (isObj(v)) {
    if (v.class_name === '__keras_tensor__' && isObj(v.config) && Array.isArray(v.config.keras_history)) {
      const h = v.config.keras_history;
      out.push({ layer: String(h[0]), node: Number(h[1]), tensor: Number(h[2]) });
      return;
    }
    if ('args' in v) collectHistory(v.args, out);
  }
}

function parseInbound(raw: unknown): TensorRef[][] {
  if (!Array.isArray(raw)) return [];
  return raw.map((node) => {
    const refs: TensorRef[] = [];
    if (isObj(node)) collectHistory(node.args ?? node, refs);
    else if (Array.isArray(node)) {
      for (const t of node) {
        if (Array.isArray(t) && typeof t[0] === 'string')
          refs.push({ layer: t[0], node: Number(t[1] ?? 0), tensor: Number(t[2] ?? 0) });
        else collectHistory(t, refs);
      }
    }
    return refs;
  });
}

function parseIo(raw: unknown): TensorRef[] {
  if (!Array.isArray(raw)) return [];
  // A single tensor is ['name', 0, 0]; several are [['a', 0, 0], ...].
  if (raw.length >= 2 && typeof raw[0] === 'string')
    return [{ layer: raw[0], node: Number(raw[1] ?? 0), tensor: Number(raw[2] ?? 0) }];
  return raw.map((t: KerasConfig) => ({ layer: String(t[0]), node: Number(t[1] ?? 0), tensor: Number(t[2] ?? 0) }));
}

export function layerName(entry: KerasConfig): string {
  return String(entry.config?.name ?? entry.name ?? '');
}

/** The input shape a layer declares (batch included), Keras 2 or Keras 3 spelling. */
export function declaredBatchShape(config: KerasConfig): (number | null)[] | undefined {
  const s = config.batch_input_shape ?? config.batch_shape;
  if (Array.isArray(s)) return s.map((d: unknown) => (d === null ? null : Number(d)));
  if (Array.isArray(config.input_shape))
    return [null, ...config.input_shape.map((d: unknown) => (d === null ? null : Number(d)))];
  return undefined;
}

/**
 * Parses a Keras model config (the `model_config` attribute or `model.to_json()`), recursing into nested
 * models. `source` names the file for error messages.
 */
export function parseModelConfig(cfg: unknown, source: string): KModel {
  if (!isObj(cfg) || typeof cfg.class_name !== 'string') {
    throw new ConverterError(`${source}: the model config has no class_name; expected model.to_json() output`);
  }
  return parseModel(cfg, source);
}

function parseModel(entry: KerasConfig, source: string): KModel {
  const className = String(entry.class_name);
  const cfg = entry.config;
  if (className === 'Sequential') return parseSequential(entry, source);
  if (className === 'Model' || className === 'Functional') {
    if (!isObj(cfg) || !Array.isArray(cfg.layers))
      throw new ConverterError(`${source}: ${className} config has no layer list`);
    const layers = cfg.layers.map((l: KerasConfig) => parseLayer(l, source));
    const outputs = parseIo(cfg.output_layers);
    alignNestedCalls(layers, outputs);
    return {
      name: String(cfg.name ?? entry.name ?? 'model'),
      className,
      layers,
      inputs: parseIo(cfg.input_layers),
      outputs,
    };
  }
  throw new ConverterError(
    `${source}: top-level class ${className} is not a Keras model (expected Sequential, Model or Functional)`,
  );
}

/**
 * Keras numbers the calls of a nested model from 1 in most versions: node 0 is the model's own construction
 * (its Input linked to its outputs), which the config leaves out. Keras 2.0-2.13 and tf.keras do this for
 * every model built on an Input, Keras 3 for Functional ones, and Sequential models built without an input
 * shape count from 0. The config does not say which, so the references decide: when some call refers to node
 * `inbound.length` (one past the saved calls), the saved calls are nodes 1..n and an empty node 0 goes in front.
 */
function alignNestedCalls(layers: KLayer[], outputs: TensorRef[]): void {
  const maxRef = new Map<string, number>();
  const note = (t: TensorRef): void => {
    maxRef.set(t.layer, Math.max(maxRef.get(t.layer) ?? -1, t.node));
  };
  for (const l of layers) for (const node of l.inbound) node.forEach(note);
  outputs.forEach(note);
  for (const l of layers) {
    if (!l.model || l.inbound.length === 0) continue;
    if ((maxRef.get(l.name) ?? -1) === l.inbound.length) l.inbound.unshift([]);
  }
}

function parseLayer(l: KerasConfig, source: string): KLayer {
  if (!isObj(l)) throw new ConverterError(`${source}: malformed layer entry in the model config`);
  const className = String(l.class_name);
  const name = layerName(l);
  if (KERAS1_CLASSES.has(className)) {
    throw new ConverterError(
      `${source}: layer '${name}' is a Keras 1 ${className}; Keras 1 files are not supported ` +
        '(load and re-save the model with Keras 2)',
    );
  }
  const layer: KLayer = {
    name,
    className,
    config: isObj(l.config) ? l.config : {},
    inbound: parseInbound(l.inbound_nodes),
  };
  if (MODEL_CLASSES.has(className)) layer.model = parseModel(l, source);
  return layer;
}

function parseSequential(entry: KerasConfig, source: string): KModel {
  const cfg = entry.config;
  const list: KerasConfig[] = Array.isArray(cfg) ? cfg : isObj(cfg) && Array.isArray(cfg.layers) ? cfg.layers : [];
  const name = String((isObj(cfg) ? cfg.name : undefined) ?? entry.name ?? 'sequential');
  if (list.length === 0) throw new ConverterError(`${source}: Sequential model '${name}' has no layers`);
  const layers: KLayer[] = [];
  let prev: TensorRef | undefined;
  let first = true;
  for (const raw of list) {
    const parsed = parseLayer(raw, source);
    if (first && parsed.className !== 'InputLayer') {
      const shape =
        declaredBatchShape(parsed.config) ??
        (parsed.model ? declaredBatchShape(parsed.model.layers[0].config) : undefined);
      // Keras names the implicit input of a Sequential '<first layer>_input'.
      const input: KLayer = {
        name: `${parsed.name}_input`,
        className: 'InputLayer',
        config: { name: `${parsed.name}_input`, batch_input_shape: shape ?? null, sequentialInputOf: parsed.name },
        inbound: [],
      };
      layers.push(input);
      prev = { layer: input.name, node: 0, tensor: 0 };
    }
    first = false;
    if (parsed.className === 'InputLayer') {
      parsed.inbound = [];
    } else {
      parsed.inbound = prev ? [[prev]] : [];
    }
    layers.push(parsed);
    prev = { layer: parsed.name, node: 0, tensor: 0 };
  }
  return {
    name,
    className: 'Sequential',
    layers,
    inputs: [{ layer: layers[0].name, node: 0, tensor: 0 }],
    outputs: [prev!],
  };
}

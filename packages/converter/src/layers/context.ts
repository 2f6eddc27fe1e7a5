import { ConverterError } from '../errors.js';
import type { KerasWeight } from '../h5.js';
import type { KerasConfig, KLayer } from '../keras.js';
import type { Dim, GraphBuilder, Value, WeightLookup } from '../graph.js';
import { fmtShape } from './util.js';

function weightKey(name: string): string {
  // 'conv1_1/kernel:0' -> 'kernel'; 'batch_normalization_1/moving_mean:0' -> 'moving_mean'
  const last = name.split('/').pop() ?? name;
  return last.replace(/:\d+$/, '');
}

/** One call of one Keras layer: its inputs, its stored weights, and the graph it adds nodes to. */
export class LayerCtx {
  readonly weights = new Map<string, KerasWeight>();
  readonly stored: KerasWeight[];
  /** How errors name the layer: "layer 'outer/conv1' (Conv2D)". */
  readonly where: string;
  /** Base name of the call's output tensors (layer name, plus _<node> for later calls). */
  readonly base: string;

  constructor(
    readonly b: GraphBuilder,
    readonly layer: KLayer,
    readonly xs: Value[],
    readonly node: number,
    /** BatchNormalization to fold into this layer's weights, when the graph walk found one. */
    readonly bn: KLayer | undefined,
    readonly lookup: WeightLookup,
    prefix = '',
  ) {
    this.stored = lookup(layer.name) ?? [];
    for (const w of this.stored) this.weights.set(weightKey(w.name), w);
    this.where = `layer '${prefix}${layer.name}' (${layer.className})`;
    this.base = node === 0 ? layer.name : `${layer.name}_${node}`;
  }

  get config(): KerasConfig {
    return this.layer.config;
  }

  /** A context for another layer's weights (the BatchNormalization folded into a convolution). */
  forLayer(layer: KLayer): LayerCtx {
    return new LayerCtx(this.b, layer, [], 0, undefined, this.lookup);
  }

  /** One clear line: file, layer, what is wrong. */
  err(msg: string): never {
    throw new ConverterError(`${this.b.opts.source}: ${this.where}: ${msg}`);
  }

  /** An error about an option rather than the layer itself (e.g. a bad --lambda value). */
  fail(msg: string): never {
    throw new ConverterError(`${this.b.opts.source}: ${msg}`);
  }

  one(): Value {
    if (this.xs.length !== 1) this.err(`expected one input, got ${this.xs.length}`);
    return this.xs[0];
  }

  weight(key: string, expected: number[]): Float32Array {
    const w = this.weights.get(key);
    if (!w) {
      const have = this.stored.map((s) => s.name);
      this.err(
        `weight '${key}' is missing (stored: ${have.length ? have.join(', ') : 'none'})` +
          (have.length ? '' : '; the file holds no weights for this layer'),
      );
    }
    if (w.shape.length !== expected.length || w.shape.some((d, i) => d !== expected[i])) {
      this.err(`weight '${w.name}' has shape ${fmtShape(w.shape)}, expected ${fmtShape(expected)}`);
    }
    return w.data;
  }

  optWeight(key: string, expected: number[]): Float32Array | undefined {
    return this.weights.has(key) ? this.weight(key, expected) : undefined;
  }

  staticDim(d: Dim, what: string): number {
    if (d === null) this.err(`${what} must be known (the input shape leaves it open)`);
    return d;
  }
}

/** Converts one call of a Keras layer class into ONNX nodes; returns the call's output values. */
export type LayerHandler = (cx: LayerCtx) => Value[];

/** A family file's handlers, keyed by Keras class name. */
export type LayerFamily = Record<string, LayerHandler>;

/** A handler for a layer with one output value. */
export const oneOutput =
  (convert: (cx: LayerCtx) => Value): LayerHandler =>
  (cx) => [convert(cx)];

/** The same handler for several Keras classes (e.g. every pooling class that one function converts). */
export function sameHandler(classes: readonly string[], handler: LayerHandler): LayerFamily {
  return Object.fromEntries(classes.map((c) => [c, handler]));
}

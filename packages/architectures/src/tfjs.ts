/**
 * TensorFlow.js instantiation of Keras configs (ours or read from .h5 files). The tf module is a parameter
 * so callers pick @tensorflow/tfjs (cpu / wasm) or tfjs-node(-gpu); custom classes are registered per module.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { ArchitectureError } from './errors.js';
import type { KerasLayerConfig, KerasModelConfig } from './keras.js';

export type TF = typeof tfTypes;
type Tensor = tfTypes.Tensor;
type LayersModel = tfTypes.LayersModel;
type LayerVariable = tfTypes.LayerVariable;
type Kwargs = Record<string, unknown>;

/** Lambda functions we can run, by name. K.l2_normalize: x / sqrt(max(sum(x^2), 1e-12)) over the last axis. */
export const KNOWN_LAMBDAS = {
  l2norm: (tf: TF, x: Tensor): Tensor =>
    tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-12)))),
  identity: (_tf: TF, x: Tensor): Tensor => x,
} as const;
export type KnownLambda = keyof typeof KNOWN_LAMBDAS;

const isKnown = (n: unknown): n is KnownLambda => typeof n === 'string' && Object.hasOwn(KNOWN_LAMBDAS, n);

const registered = new WeakMap<object, true>();

/**
 * Registers `ChannelPadding` and the `Lambda` stand-in with this tf module's serialization registry.
 * Idempotent; modelFromKerasConfig calls it.
 */
export function registerCustomLayers(tf: TF): void {
  if (registered.has(tf)) return;

  class ChannelPadding extends tf.layers.Layer {
    static className = 'ChannelPadding';
    readonly padding: [number, number];
    readonly dataFormat: 'channelsFirst' | 'channelsLast';

    constructor(args: Kwargs & { padding?: number | number[]; dataFormat?: string }) {
      super(args as tfTypes.serialization.ConfigDict);
      const p = args.padding ?? 1;
      this.padding = typeof p === 'number' ? [p, p] : [Number(p[0]), Number(p[1])];
      if (this.padding.some((v) => !Number.isInteger(v) || v < 0)) {
        throw new ArchitectureError(
          `layer ${String(args.name)}: ChannelPadding padding must be two integers >= 0, got ${JSON.stringify(p)}`,
        );
      }
      // Keras writes 'channels_last'; tfjs's config conversion turns it into 'channelsLast'.
      const df = String(args.dataFormat ?? 'channelsLast')
        .replace('_f', 'F')
        .replace('_l', 'L');
      if (df !== 'channelsFirst' && df !== 'channelsLast') {
        throw new ArchitectureError(`layer ${String(args.name)}: unknown data_format ${String(args.dataFormat)}`);
      }
      this.dataFormat = df;
      this.inputSpec = [{ ndim: 4 }];
    }

    override computeOutputShape(inputShape: tfTypes.Shape | tfTypes.Shape[]): tfTypes.Shape {
      const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfTypes.Shape;
      const axis = this.dataFormat === 'channelsFirst' ? 1 : s.length - 1;
      const out = s.slice();
      const c = out[axis];
      out[axis] = c === null || c === undefined ? null : c + this.padding[0] + this.padding[1];
      return out;
    }

    override call(inputs: Tensor | Tensor[]): Tensor {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const axis = this.dataFormat === 'channelsFirst' ? 1 : x.rank - 1;
      const pattern = Array.from({ length: x.rank }, (_, i): [number, number] => (i === axis ? this.padding : [0, 0]));
      return tf.pad(x, pattern);
    }

    override getConfig(): tfTypes.serialization.ConfigDict {
      return { ...super.getConfig(), padding: [...this.padding], dataFormat: this.dataFormat };
    }
  }

  class Lambda extends tf.layers.Layer {
    static className = 'Lambda';
    readonly fn: KnownLambda;
    private readonly rawConfig: Kwargs;

    constructor(args: Kwargs) {
      super(args as tfTypes.serialization.ConfigDict);
      const f = args.function;
      const fname = Array.isArray(f) ? f[0] : f;
      // Real Keras files hold Python bytecode here; the converter's --lambda mapping and our own configs put
      // a known name there, and the reference's l2norm is recognised by its layer name.
      const resolved = isKnown(fname) ? fname : isKnown(args.name) ? args.name : undefined;
      if (!resolved) {
        throw new ArchitectureError(
          `Lambda layer '${String(args.name)}' holds Python code we cannot run; map it to one of ${Object.keys(KNOWN_LAMBDAS).join(', ')}`,
        );
      }
      this.fn = resolved;
      this.rawConfig = {
        function: [resolved, null, null],
        functionType: 'lambda',
        outputShape: null,
        outputShapeType: 'raw',
        arguments: {},
      };
    }

    override computeOutputShape(inputShape: tfTypes.Shape | tfTypes.Shape[]): tfTypes.Shape {
      return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfTypes.Shape;
    }

    override call(inputs: Tensor | Tensor[]): Tensor {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return KNOWN_LAMBDAS[this.fn](tf, x);
    }

    override getConfig(): tfTypes.serialization.ConfigDict {
      return { ...super.getConfig(), ...(this.rawConfig as tfTypes.serialization.ConfigDict) };
    }
  }

  tf.serialization.registerClass(ChannelPadding);
  tf.serialization.registerClass(Lambda);
  registered.set(tf, true);
}

export interface FromConfigOptions {
  /** Map Lambda layers (by layer name) to a known function, e.g. { lambda_1: 'identity' }. */
  lambdas?: Record<string, KnownLambda>;
}

/** Keras model configs come as {class_name, config: {layers}} or, for old Sequential models, {config: [layers]}. */
export type AnyKerasModelConfig = KerasModelConfig | { class_name: string; config: unknown };

function layersOf(config: AnyKerasModelConfig): KerasLayerConfig[] {
  const c = (config as { config?: unknown }).config;
  const layers = Array.isArray(c) ? c : (c as { layers?: unknown } | undefined)?.layers;
  if (!Array.isArray(layers))
    throw new ArchitectureError(`not a Keras model config: no layer list in ${String(config.class_name)} config`);
  return layers as KerasLayerConfig[];
}

/**
 * Builds a tf.LayersModel from a Keras 2.x model config (`Model` / `Functional`, or `Sequential` in its list or
 * dict form),
 * with fresh initial weights. Lambda layers must be known (`l2norm`, `identity`) or mapped in `options.lambdas`.
 */
export async function modelFromKerasConfig(
  tf: TF,
  config: AnyKerasModelConfig,
  options: FromConfigOptions = {},
): Promise<LayersModel> {
  registerCustomLayers(tf);
  const cfg = structuredClone(config);
  for (const layer of layersOf(cfg)) {
    if (layer.class_name !== 'Lambda') continue;
    // Old Sequential configs keep the name only inside config.
    const name = layer.name ?? (layer.config?.name as string);
    const mapped = options.lambdas?.[name];
    if (mapped !== undefined) {
      if (!isKnown(mapped))
        throw new ArchitectureError(
          `--lambda ${name}=${String(mapped)}: unknown function; known: ${Object.keys(KNOWN_LAMBDAS).join(', ')}`,
        );
      layer.config = { ...layer.config, function: [mapped, null, null], function_type: 'lambda' };
    }
  }
  try {
    return await tf.models.modelFromJSON({ modelTopology: cfg as unknown as tfTypes.io.ModelJSON['modelTopology'] });
  } catch (e) {
    if (e instanceof ArchitectureError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    const modelName = Array.isArray(cfg.config) ? cfg.class_name : String((cfg.config as { name?: unknown })?.name);
    throw new ArchitectureError(`TensorFlow.js cannot build model '${modelName}': ${msg.split('\n')[0]}`);
  }
}

export interface KerasLayerWeights {
  layer: string;
  className: string;
  /** Keras order: Conv2D/Dense kernel, bias; BatchNormalization gamma, beta, moving_mean, moving_variance. */
  weights: { name: string; shape: number[]; variable: LayerVariable }[];
}

/**
 * Every layer of `model` in model order (Keras's order for Keras configs) with its weights under the names
 * Keras 2 writes into .h5 files (`<layer>/<weight>:0`). Layers without weights are listed with `weights: []`,
 * as Keras lists them in `layer_names`.
 */
export function weightsFromKerasNames(model: LayersModel): KerasLayerWeights[] {
  return model.layers.map((layer) => ({
    layer: layer.name,
    className: layer.getClassName(),
    weights: layer.weights.map((v) => {
      // tfjs may uniquify variable names across models (conv1/kernel_1); Keras's name is layer + short name.
      const short = v.originalName.slice(v.originalName.lastIndexOf('/') + 1);
      return { name: `${layer.name}/${short}:0`, shape: [...v.shape] as number[], variable: v };
    }),
  }));
}

export interface WeightArray {
  shape: readonly number[];
  data: Float32Array | Float64Array | ArrayLike<number>;
}

export interface LoadByNameResult {
  loaded: string[];
  missing: string[];
  /** Names whose stored shape differs from the model's (skipped when skipMismatch). */
  mismatched: string[];
}

/**
 * Sets weights by Keras name (`conv1/kernel:0`), as Keras's load_weights(by_name=True). Missing weights are an
 * error unless `allowMissing`; shape mismatches are an error unless `skipMismatch` (the reference's --finetune).
 */
export function loadWeightsByKerasName(
  tf: TF,
  model: LayersModel,
  lookup: (name: string) => WeightArray | undefined,
  opts: { allowMissing?: boolean; skipMismatch?: boolean; source?: string } = {},
): LoadByNameResult {
  const res: LoadByNameResult = { loaded: [], missing: [], mismatched: [] };
  const writes: [LayerVariable, WeightArray][] = [];
  const where = opts.source ? `${opts.source}: ` : '';
  for (const l of weightsFromKerasNames(model)) {
    for (const w of l.weights) {
      const arr = lookup(w.name);
      if (!arr) {
        if (!opts.allowMissing) throw new ArchitectureError(`${where}layer ${l.layer}: weight ${w.name} is missing`);
        res.missing.push(w.name);
        continue;
      }
      const same = arr.shape.length === w.shape.length && arr.shape.every((d, i) => d === w.shape[i]);
      if (!same) {
        if (!opts.skipMismatch) {
          throw new ArchitectureError(
            `${where}layer ${l.layer}: weight ${w.name} has shape [${arr.shape.join(',')}], the model needs [${w.shape.join(',')}]`,
          );
        }
        res.mismatched.push(w.name);
        continue;
      }
      writes.push([w.variable, arr]);
      res.loaded.push(w.name);
    }
  }
  // Only write once everything checked out, so a failed load leaves the model as it was.
  for (const [v, arr] of writes) {
    const t = tf.tensor(Float32Array.from(arr.data as ArrayLike<number>), [...arr.shape], 'float32');
    v.write(t);
    t.dispose();
  }
  return res;
}

import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import {
  SIDECAR_FORMAT,
  SIDECAR_VERSION,
  validateWrittenSidecar,
  type OutputKind,
  type Preprocessing,
  type Sidecar,
  type SidecarClass,
} from '@semembed/model';
import { ConverterError } from './errors.js';
import { KerasToOnnx, type BuiltOutput, type Dim } from './graph.js';
import { type KerasH5, type KerasWeight } from './h5.js';
import { readKerasModelFile } from './keras-archive.js';
import { parseModelConfig } from './keras.js';
import { irVersionForOpset, writeModelChunks } from '@semembed/onnx';
import { describeModel, producedBy } from './onnx-metadata.js';
import { toOnnxModel } from './onnx-model.js';
import { datasetPreprocessing } from './datasets.js';
import { writeModelPair } from './pair.js';

export const CONVERTER_VERSION = '0.1.0';
export const DEFAULT_OPSET = 17;
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

// The sidecar's type, schema and validator are @semembed/model's (the contract the runtimes read).
export type { Sidecar, SidecarClass, Preprocessing, OutputKind } from '@semembed/model';

export interface ConvertOptions {
  /** Keras .h5: a full model, or save_weights output together with `config` or `architecture`. */
  h5: string;
  /** Where the .onnx goes; the sidecar lands beside it as <name>.json. */
  out: string;
  /** A model.to_json() file (or the parsed object) for weights-only files. */
  config?: string | Record<string, unknown>;
  /** A reference architecture name (@semembed/architectures) for weights-only files. */
  architecture?: string;
  /** Input height and width for `architecture` builds (default: the dataset's size, else the architecture's). */
  inputSize?: [number | null, number | null];
  /** Dataset name: sets preprocessing (mean/std, input size) as in the reference README §4.2. */
  dataset?: string;
  opset?: number;
  /** 'nhwc' or 'nchw'; default: the layout Keras uses (NHWC for channels_last models). */
  inputLayout?: 'nhwc' | 'nchw';
  /** Store weights as float16 (cast to float32 in the graph). */
  fp16?: boolean;
  /** Lambda layer name -> what it computes (l2norm, identity, square, relu, sigmoid, tanh, softmax, scale:<k>). */
  lambdas?: Record<string, string>;
  classes?: SidecarClass[];
  classEmbedding?: number[][];
  preprocessing?: Partial<Preprocessing>;
  /** Extra free-form facts for the sidecar's `source`. */
  sourceInfo?: Record<string, unknown>;
}

export interface ConvertResult {
  onnxPath: string;
  sidecarPath: string;
  /** What was written beside the .onnx (the converter always fills `source`). */
  sidecar: Sidecar & { source: Record<string, unknown> };
  /** BatchNormalization layers folded into the preceding convolution / dense layer. */
  foldedBatchNorms: string[];
  nodes: number;
  initializers: number;
}

export function sidecarPathFor(onnxPath: string): string {
  const ext = extname(onnxPath);
  return (ext ? onnxPath.slice(0, -ext.length) : onnxPath) + '.json';
}

async function architectureConfig(
  name: string,
  h5: KerasH5,
  dataset: string | undefined,
  inputSize: [number | null, number | null] | undefined,
): Promise<Record<string, unknown>> {
  let arch: typeof import('@semembed/architectures');
  try {
    arch = await import('@semembed/architectures');
  } catch {
    throw new ConverterError(`--architecture needs the @semembed/architectures package, which is not installed`);
  }
  const known = arch.listArchitectures().map((a) => a.name);
  if (!known.includes(name))
    throw new ConverterError(`--architecture ${name}: unknown architecture; known: ${known.join(', ')}`);
  const info = arch.listArchitectures().find((a) => a.name === name)!;
  // The head sizes are in the weights: embedding units from `embedding`'s kernel, classes from `prob`'s.
  const kernelCols = (layer: string): number | undefined => {
    const w = h5.weights.get(layer)?.find((x) => /(^|\/)kernel:0$/.test(x.name));
    return w ? w.shape[w.shape.length - 1] : undefined;
  };
  const numClasses = kernelCols('prob');
  const embeddingDim = kernelCols('embedding') ?? info.fixedEmbeddingDim ?? numClasses;
  if (embeddingDim === undefined) {
    throw new ConverterError(
      `${h5.file}: cannot tell the embedding size: the file has neither an 'embedding' nor a 'prob' layer for architecture ${name}`,
    );
  }
  const pre = dataset ? datasetPreprocessing(dataset) : undefined;
  const channels = info.defaultInputShape[2] ?? 3;
  const inputShape = inputSize
    ? [...inputSize, channels]
    : pre
      ? [pre.resize[0], pre.resize[1], channels]
      : info.defaultInputShape;
  try {
    return arch.buildArchitecture(name, {
      embeddingDim,
      numClasses,
      inputShape: inputShape as (number | null)[],
      loss: h5.layerNames.includes('l2norm') ? 'inv_corr' : 'unnorm_corr',
      clsWeight: numClasses !== undefined ? 1 : 0,
    }) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new ConverterError(`--architecture ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function outputKind(o: BuiltOutput): { kind: OutputKind; normalized?: boolean } {
  if (o.activation === 'l2norm' || o.name === 'l2norm') return { kind: 'embedding', normalized: true };
  if (o.activation === 'softmax') return { kind: 'probabilities' };
  if (o.name === 'embedding') return { kind: 'embedding', normalized: false };
  if (o.className.startsWith('Global')) return { kind: 'features' };
  if (o.className === 'Dense' && o.activation === 'linear') return { kind: 'logits' };
  return { kind: 'other' };
}

/**
 * Converts a Keras HDF5 model to ONNX plus its JSON sidecar. Throws ConverterError (userFacing) on bad
 * input; never leaves a partial .onnx behind.
 */
export async function convertKeras(options: ConvertOptions): Promise<ConvertResult> {
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new ConverterError(`--opset ${options.opset}: choose an opset from ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  if (options.inputLayout !== undefined && options.inputLayout !== 'nhwc' && options.inputLayout !== 'nchw') {
    throw new ConverterError(`--input_layout ${String(options.inputLayout)}: use nhwc or nchw`);
  }
  const h5 = await readKerasModelFile(options.h5);
  if (h5.kerasVersion?.startsWith('1.')) {
    throw new ConverterError(
      `${options.h5}: written by Keras ${h5.kerasVersion}; Keras 1 files are not supported (load and re-save the model with Keras 2)`,
    );
  }
  let cfg: unknown;
  let cfgSource = options.h5;
  if (options.config !== undefined) {
    if (typeof options.config === 'string') {
      cfgSource = options.config;
      let text: string;
      try {
        text = readFileSync(options.config, 'utf8');
      } catch {
        throw new ConverterError(`--config ${options.config}: cannot read the file`);
      }
      try {
        cfg = JSON.parse(text);
      } catch {
        throw new ConverterError(`--config ${options.config}: not valid JSON (expected the output of model.to_json())`);
      }
    } else cfg = options.config;
  } else if (options.architecture !== undefined) {
    cfg = await architectureConfig(options.architecture, h5, options.dataset, options.inputSize);
    cfgSource = `architecture ${options.architecture}`;
  } else if (h5.modelConfig !== undefined) {
    cfg = h5.modelConfig;
  } else {
    throw new ConverterError(
      `${options.h5}: a weights-only file (save_weights, no model_config); give the architecture with --architecture NAME or --config model.json`,
    );
  }
  const model = parseModelConfig(cfg, cfgSource);

  const conv = new KerasToOnnx({
    opset,
    fp16: options.fp16 === true,
    inputLayout: options.inputLayout ?? 'keras',
    lambdas: options.lambdas ?? {},
    source: options.h5,
  });
  const lookup = (layer: string): KerasWeight[] | undefined => h5.weights.get(layer);
  const g = conv.build(model, lookup);

  const onnxModel = toOnnxModel({
    irVersion: irVersionForOpset(opset),
    opset,
    producerName: 'semembed',
    producerVersion: CONVERTER_VERSION,
    graphName: model.name,
    docString: producedBy(options.h5, h5, `@semembed/converter ${CONVERTER_VERSION}`),
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: g.inputs,
    outputs: g.outputs,
  });

  const first = g.inputInfo[0];
  const shape = first.shape;
  const layout = first.layout === 'NCHW' ? 'NCHW' : 'NHWC';
  const chDim: Dim = first.layout === 'NCHW' ? shape[1] : shape[shape.length - 1];
  const channels = typeof chDim === 'number' ? chDim : 0;
  let preprocessing: Preprocessing | undefined;
  if (shape.length === 4) {
    const [h, w] = first.layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]];
    const fromDataset = options.dataset ? datasetPreprocessing(options.dataset) : undefined;
    const base: Preprocessing = fromDataset ?? {
      resize: [h ?? 224, w ?? 224],
      crop: 'center',
      colorSpace: channels === 1 ? 'gray' : 'rgb',
      mean: new Array(Math.max(channels, 1)).fill(0),
      std: new Array(Math.max(channels, 1)).fill(1),
    };
    preprocessing = { ...base, ...options.preprocessing };
    if (typeof h === 'number' && typeof w === 'number') preprocessing.resize = [h, w];
  }
  const onnxName = basename(options.out);
  const sidecar: Sidecar & { source: Record<string, unknown> } = {
    format: SIDECAR_FORMAT,
    version: SIDECAR_VERSION,
    model: onnxName,
    source: {
      file: basename(options.h5),
      keras_version: h5.kerasVersion ?? null,
      backend: h5.backend ?? null,
      model_class: model.className,
      ...(options.architecture ? { architecture: options.architecture } : {}),
      ...(options.dataset ? { dataset: options.dataset } : {}),
      ...(typeof options.config === 'string' ? { config: basename(options.config) } : {}),
      converter: `@semembed/converter ${CONVERTER_VERSION}`,
      opset,
      fp16_weights: options.fp16 === true,
      folded_batch_norms: g.foldedBatchNorms.length,
      ...options.sourceInfo,
    },
    input: { name: first.name, layout, shape, dtype: 'float32', channels },
    ...(g.inputInfo.length > 1
      ? {
          inputs: g.inputInfo.map((i) => ({
            name: i.name,
            layout: i.layout,
            shape: i.shape,
            dtype: 'float32' as const,
          })),
        }
      : {}),
    ...(preprocessing ? { preprocessing } : {}),
    outputs: g.outputInfo.map((o) => {
      const k = outputKind(o);
      return {
        name: o.name,
        kind: k.kind,
        dim: o.shape[o.shape.length - 1] ?? null,
        ...(k.normalized !== undefined ? { normalized: k.normalized } : {}),
      };
    }),
    ...(options.classes ? { classes: options.classes } : {}),
    ...(options.classEmbedding ? { classEmbedding: options.classEmbedding } : {}),
  };
  // Labels that do not fit the model's outputs would mislabel every prediction.
  for (const o of sidecar.outputs) {
    if (options.classes && o.kind === 'probabilities' && o.dim !== null && o.dim !== options.classes.length) {
      throw new ConverterError(
        `output '${o.name}' gives ${o.dim} class probabilities, but ${options.classes.length} classes were given`,
      );
    }
    const embDim = options.classEmbedding?.[0]?.length;
    if (embDim !== undefined && o.kind === 'embedding' && o.dim !== null && o.dim !== embDim) {
      throw new ConverterError(
        `output '${o.name}' is a ${o.dim}-d embedding, but the class embedding has ${embDim} dimensions`,
      );
    }
  }
  const sidecarPath = sidecarPathFor(options.out);
  // Written only if the runtimes will read it: a bad --mean or label list is one line naming the field, before any write.
  validateWrittenSidecar(sidecar, sidecarPath);
  // Both files to temporaries, then renamed; the sidecar records the ONNX file's hash (see pair.ts).
  writeModelPair(options.out, sidecarPath, writeModelChunks(describeModel(onnxModel, sidecar)), sidecar);
  return {
    onnxPath: options.out,
    sidecarPath,
    sidecar,
    foldedBatchNorms: g.foldedBatchNorms,
    nodes: g.nodes.length,
    initializers: g.initializers.length,
  };
}

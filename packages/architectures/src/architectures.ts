/**
 * The reference's architectures (cvjena/semantic-embeddings, utils.build_network with classification=False)
 * and heads (learn_image_embeddings.py), as Keras 2.2.4 model configs with the reference's layer names.
 */
import { ArchitectureError } from './errors.js';
import {
  KerasGraph,
  type KerasModelConfig,
  type Shape,
  batchNormConfig,
  denseConfig,
  l2,
  lambdaConfig,
} from './keras.js';
import { type Builder, plainNet, pyramidNet, resnet50, smallResNet, wideResNet } from './networks.js';

export type EmbeddingLoss = 'inv_corr' | 'mse' | 'unnorm_corr' | 'softmax_corr';
export const LOSSES: readonly EmbeddingLoss[] = ['inv_corr', 'mse', 'unnorm_corr', 'softmax_corr'];

export interface BuildOptions {
  /** [H, W, C]; H and W may be null (any size). Default: the reference's input shape for the architecture. */
  inputShape?: Shape;
  /** Units of the final `embedding` layer (the class embedding's dimension). */
  embeddingDim: number;
  /** Number of classes for the classification head (needed when clsWeight > 0). */
  numClasses?: number;
  /** Default 'inv_corr' (adds the `l2norm` output), as the reference. */
  loss?: EmbeddingLoss;
  /** > 0 appends cls_model's ReLU -> BatchNormalization -> Dense softmax `prob` output. */
  clsWeight?: number;
  /** Layer name or index (Python-style, negative from the end) the classifier starts from; default the embedding output. */
  clsBase?: string;
}

export interface ArchitectureInfo {
  name: string;
  description: string;
  /** The input shape the reference builds it with ([null, null, 3] = any size). */
  defaultInputShape: Shape;
  /** Layer whose output is the embedding before the heads. */
  embeddingLayer: string;
  /** True when the architecture has no Dense `embedding` and the embedding is the pooled features. */
  fixedEmbeddingDim?: number;
}

interface Entry extends ArchitectureInfo {
  build: Builder;
  /** The input layer's name when the reference builds a Sequential (Keras names it `<first layer>_input`). */
  inputName?: string;
}

/** The reference's CIFAR ResNets without a top (resnet-32: n=5, resnet-110: n=18; depth 6n + 2), one entry each. */
function cifarResNetNoTop(n: number): Entry {
  const depth = 6 * n + 2;
  return {
    name: `resnet-${depth}`,
    description: `CIFAR ResNet-${depth} (SmallResNet n=${n}, 16/32/64, no top): the embedding is the 64-d global average pooling`,
    defaultInputShape: [null, null, 3],
    embeddingLayer: 'avg_pool',
    fixedEmbeddingDim: 64,
    build: smallResNet(n, [16, 32, 64], false),
  };
}

const REGISTRY: Entry[] = [
  {
    name: 'simple',
    description:
      'Plain-11 (models/plainnet.py): conv 64,64,ap,128x3,ap,256x3,ap,512, global avg pool, fc512, embedding; conv/dense = ReLU then BN; L2 5e-4',
    defaultInputShape: [32, 32, 3],
    embeddingLayer: 'embedding',
    inputName: 'conv1_input',
    build: plainNet([64, 64, 'ap', 128, 128, 128, 'ap', 256, 256, 256, 'ap', 512, 'gap', 'fc512'], 5e-4),
  },
  cifarResNetNoTop(5),
  cifarResNetNoTop(18),
  {
    name: 'resnet-110-fc',
    description: 'CIFAR ResNet-110 (n=18, 16/32/64) + Dense `embedding`',
    defaultInputShape: [32, 32, 3],
    embeddingLayer: 'embedding',
    build: smallResNet(18, [16, 32, 64], true),
  },
  {
    name: 'resnet-110-wfc',
    description: 'wide CIFAR ResNet-110 (n=18, 32/64/128) + Dense `embedding` (the released CIFAR-100 models)',
    defaultInputShape: [32, 32, 3],
    embeddingLayer: 'embedding',
    build: smallResNet(18, [32, 64, 128], true),
  },
  {
    name: 'wrn-28-10',
    description:
      'Wide ResNet-28-10 (models/wide_residual_network.py, N=4, k=10) + Dense `embedding`; auto-named layers',
    defaultInputShape: [32, 32, 3],
    embeddingLayer: 'embedding',
    build: wideResNet(4, 10),
  },
  {
    name: 'pyramidnet-272-200',
    description: 'PyramidNet-272 alpha=200 with bottlenecks (models/cifar_pyramidnet.py) + Dense `embedding`',
    defaultInputShape: [32, 32, 3],
    embeddingLayer: 'embedding',
    build: pyramidNet(272, 200, true),
  },
  {
    name: 'resnet-50',
    description: 'keras.applications ResNet50 (no top) + GlobalAvgPool2D `avg_pool` + Dense `embedding`',
    defaultInputShape: [null, null, 3],
    embeddingLayer: 'embedding',
    build: resnet50(),
  },
  {
    name: 'resnet-50-legacy',
    description:
      'resnet-50 as older keras_applications (Keras 2.2.0 era) built it: no pool1_pad before the max pooling; same weight names',
    defaultInputShape: [null, null, 3],
    embeddingLayer: 'embedding',
    build: resnet50(true),
  },
  {
    name: 'fashion-cnn',
    description:
      'small default for 28x28x1 Fashion-MNIST: conv16, mp, conv32, mp, fc128, embedding; conv/dense = ReLU then BN; L2 5e-4',
    defaultInputShape: [28, 28, 1],
    embeddingLayer: 'embedding',
    inputName: 'conv1_input',
    build: plainNet([16, 'mp', 32, 'mp', 'fc128'], 5e-4),
  },
  {
    name: 'fashion-cnn-wide',
    description:
      'wider 28x28x1 variant: conv32, conv32, mp, conv64, conv64, mp, fc128, embedding (about 15x the compute of fashion-cnn)',
    defaultInputShape: [28, 28, 1],
    embeddingLayer: 'embedding',
    inputName: 'conv1_input',
    build: plainNet([32, 32, 'mp', 64, 64, 'mp', 'fc128'], 5e-4),
  },
];

/** The architectures buildArchitecture knows, in the reference's order, then ours. */
export function listArchitectures(): ArchitectureInfo[] {
  return REGISTRY.map(({ build: _b, inputName: _i, ...info }) => ({
    ...info,
    defaultInputShape: [...info.defaultInputShape],
  }));
}

function checkInt(v: unknown, what: string, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ArchitectureError(`${what} must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

/**
 * Builds the Keras 2.2.4 config of `name` with the reference's heads:
 * loss inv_corr -> Lambda `l2norm`; softmax_corr -> Activation `softmax`; mse / unnorm_corr -> none;
 * clsWeight > 0 -> cls_model's Activation(relu) -> BatchNormalization -> Dense `prob` (softmax, L2 5e-4),
 * outputs [embedding head, prob].
 */
export function buildArchitecture(name: string, options: BuildOptions): KerasModelConfig {
  const entry = REGISTRY.find((e) => e.name === name);
  if (!entry) {
    throw new ArchitectureError(`unknown architecture '${name}'; known: ${REGISTRY.map((e) => e.name).join(', ')}`);
  }
  const dim = checkInt(options.embeddingDim, `${name}: embeddingDim`);
  const loss = options.loss ?? 'inv_corr';
  if (!LOSSES.includes(loss))
    throw new ArchitectureError(`unknown loss '${String(loss)}'; known: ${LOSSES.join(', ')}`);
  const clsWeight = options.clsWeight ?? 0;
  if (typeof clsWeight !== 'number' || !Number.isFinite(clsWeight))
    throw new ArchitectureError(`clsWeight must be a number, got ${String(clsWeight)}`);

  const shape = options.inputShape ?? entry.defaultInputShape;
  if (!Array.isArray(shape) || shape.length !== 3) {
    throw new ArchitectureError(`${name}: inputShape must be [height, width, channels], got ${JSON.stringify(shape)}`);
  }
  shape.forEach((v, i) => {
    if (v === null && i < 2) return;
    checkInt(v, `${name}: inputShape[${i}]`);
  });
  if (entry.fixedEmbeddingDim !== undefined && dim !== entry.fixedEmbeddingDim) {
    throw new ArchitectureError(
      `${name} has no embedding layer: as in the reference its output is the ${entry.fixedEmbeddingDim}-d global average pooling, ` +
        `which cannot hold a ${dim}-d class embedding; use resnet-110-fc or resnet-110-wfc`,
    );
  }

  const g = new KerasGraph();
  const input = g.input([...shape], entry.inputName);
  const built = entry.build(g, input, dim);
  let out = built.output;
  let modelName = built.modelName ?? `model_${g.uid('model')}`;

  // The reference wraps the network in a new Model for every head, so Keras's model counter advances.
  if (loss === 'inv_corr') {
    out = g.apply('Lambda', lambdaConfig('l2norm'), out, 'l2norm');
    modelName = `model_${g.uid('model')}`;
  } else if (loss === 'softmax_corr') {
    out = g.apply('Activation', { activation: 'softmax' }, out, 'softmax');
    modelName = `model_${g.uid('model')}`;
  }
  const outputs = [out];
  if (clsWeight > 0) {
    const numClasses = checkInt(options.numClasses, `${name}: numClasses (required with clsWeight > 0)`);
    let base = out;
    if (options.clsBase !== undefined && options.clsBase !== null && options.clsBase !== '') {
      const layers = g.orderedLayers([out]);
      const cb = String(options.clsBase);
      if (/^-?\d+$/.test(cb)) {
        const i = Number(cb);
        const layer = layers[i < 0 ? layers.length + i : i];
        if (layer === undefined)
          throw new ArchitectureError(`clsBase index ${cb} is out of range: the model has ${layers.length} layers`);
        base = g.tensor(layer);
      } else {
        if (!layers.includes(cb)) throw new ArchitectureError(`clsBase: the ${name} model has no layer named '${cb}'`);
        base = g.tensor(cb);
      }
    }
    let x = g.apply('Activation', { activation: 'relu' }, base);
    x = g.apply('BatchNormalization', batchNormConfig(), x);
    x = g.apply('Dense', denseConfig(numClasses, { activation: 'softmax', kernelRegularizer: l2(5e-4) }), x, 'prob');
    outputs.push(x);
    modelName = `model_${g.uid('model')}`;
  }
  return g.model([input], outputs, modelName);
}

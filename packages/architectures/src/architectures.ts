/**
 * The reference's architectures (cvjena/semantic-embeddings, utils.build_network with classification=False)
 * and heads (learn_image_embeddings.py), as Keras 2.2.4 model configs with the reference's layer names.
 */
import { ArchitectureError } from './errors.js';
import {
  KerasGraph,
  type KerasModelConfig,
  type Shape,
  type SymTensor,
  batchNormConfig,
  conv2dConfig,
  denseConfig,
  init,
  l2,
  lambdaConfig,
  pool2dConfig,
  pyRound,
} from './keras.js';

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

type Builder = (g: KerasGraph, input: SymTensor, dim: number) => { output: SymTensor; modelName?: string };

interface Entry extends ArchitectureInfo {
  build: Builder;
  /** The input layer's name when the reference builds a Sequential (Keras names it `<first layer>_input`). */
  inputName?: string;
}

// ---------------------------------------------------------------------------------------------------------
// CIFAR ResNets (models/cifar_resnet.py: SmallResNet)

function smallResNet(n: number, filters: number[], includeTop: boolean): Builder {
  return (g, input, dim) => {
    const reg = l2(2e-4);
    const conv = (x: SymTensor, f: number, name: string, stride = 1) =>
      g.apply(
        'Conv2D',
        conv2dConfig(f, { kernelSize: 3, strides: stride, padding: 'same', kernelRegularizer: reg }),
        x,
        name,
      );
    const bn = (x: SymTensor, name: string) => g.apply('BatchNormalization', batchNormConfig({ axis: 3 }), x, name);
    const act = (x: SymTensor) => g.apply('Activation', { activation: 'relu' }, x);

    const block = (input: SymTensor, fin: number, fout: number, prefix: string, stride: number): SymTensor => {
      let x = act(bn(conv(input, fout, `res${prefix}x`, stride), `bn${prefix}x`));
      x = bn(conv(x, fout, `res${prefix}y`), `bn${prefix}y`);
      let shortcut = input;
      if (stride > 1) shortcut = g.apply('AveragePooling2D', pool2dConfig(stride), shortcut, `avg${prefix}`);
      if (fin < fout) {
        const d = fout - fin;
        shortcut = g.apply(
          'ChannelPadding',
          { padding: [Math.floor(d / 2), d - Math.floor(d / 2)], data_format: 'channels_last' },
          shortcut,
          `pad${prefix}`,
        );
      }
      return act(g.apply('Add', {}, [x, shortcut]));
    };
    const unit = (x: SymTensor, fin: number, fout: number, prefix: string, stride: number) => {
      x = block(x, fin, fout, `${prefix}1`, stride);
      for (let i = 1; i < n; i++) x = block(x, fout, fout, `${prefix}${i + 1}`, 1);
      return x;
    };

    let x = act(bn(conv(input, filters[0]!, 'conv0'), 'bn0'));
    x = unit(x, filters[0]!, filters[0]!, '1-', 1);
    for (let i = 1; i < filters.length; i++) x = unit(x, filters[i - 1]!, filters[i]!, `${i + 1}-`, 2);
    x = g.apply('GlobalAveragePooling2D', { data_format: 'channels_last' }, x, 'avg_pool');
    if (includeTop) x = g.apply('Dense', denseConfig(dim, { kernelRegularizer: reg }), x, 'embedding');
    return { output: x, modelName: `cifar-resnet${2 * filters.length * n}` };
  };
}

// ---------------------------------------------------------------------------------------------------------
// PyramidNet (models/cifar_pyramidnet.py), bottleneck variant. Every layer but conv0/bn0/bn4/act4/avg_pool/
// embedding is auto-named, so creation order below follows the reference exactly.

function pyramidNet(depth: number, alpha: number, bottleneck: boolean): Builder {
  return (g, input, dim) => {
    const reg = l2(2e-4);
    const conv = (x: SymTensor, f: number, k: number, stride = 1, name?: string) =>
      g.apply(
        'Conv2D',
        conv2dConfig(f, {
          kernelSize: k,
          strides: stride,
          padding: k === 1 ? 'valid' : 'same',
          kernelInitializer: init.glorotNormal(),
          kernelRegularizer: reg,
        }),
        x,
        name,
      );
    const bn = (x: SymTensor, name?: string, axis = -1) =>
      g.apply('BatchNormalization', batchNormConfig({ axis }), x, name);
    const act = (x: SymTensor, name?: string) => g.apply('Activation', { activation: 'relu' }, x, name);
    const shortcut = (x: SymTensor, nOut: number, stride: number) => {
      if (stride > 1) x = g.apply('AveragePooling2D', pool2dConfig(stride), x);
      const c = x.shape[x.shape.length - 1] as number;
      if (c < nOut) x = g.apply('ChannelPadding', { padding: [0, nOut - c], data_format: 'channels_last' }, x);
      return x;
    };
    const basic = (x: SymTensor, f: number, stride: number) => {
      let s = bn(x);
      s = conv(s, f, 3, stride);
      s = act(bn(s));
      s = bn(conv(s, f, 3));
      return g.apply('Add', {}, [s, shortcut(x, f, stride)]);
    };
    const bottle = (x: SymTensor, f: number, stride: number) => {
      let s = bn(x);
      s = act(bn(conv(s, f, 1)));
      s = act(bn(conv(s, f, 3, stride)));
      s = bn(conv(s, f * 4, 1));
      return g.apply('Add', {}, [s, shortcut(x, f * 4, stride)]);
    };
    const block = bottleneck ? bottle : basic;
    const n = bottleneck ? Math.floor((depth - 2) / 9) : Math.floor((depth - 2) / 6);
    let start = 16;
    const add = alpha / (3 * n);

    let x = bn(conv(input, start, 3, 1, 'conv0'), 'bn0', 3);
    for (let b = 0; b < 3; b++) {
      start += add;
      x = block(x, pyRound(start), b === 0 ? 1 : 2);
      for (let i = 1; i < n; i++) {
        start += add;
        x = block(x, pyRound(start), 1);
      }
    }
    x = act(bn(x, 'bn4', 3), 'act4');
    x = g.apply('GlobalAveragePooling2D', { data_format: 'channels_last' }, x, 'avg_pool');
    x = g.apply('Dense', denseConfig(dim, { kernelRegularizer: reg }), x, 'embedding');
    return { output: x, modelName: `pyramidnet-${depth}-${alpha}` };
  };
}

// ---------------------------------------------------------------------------------------------------------
// Wide ResNet (models/wide_residual_network.py): no regularisers, BN momentum 0.1 / eps 1e-5, all auto-named.

function wideResNet(N: number, k: number): Builder {
  return (g, input, dim) => {
    const conv = (x: SymTensor, f: number, kernel: number, stride = 1) =>
      g.apply(
        'Conv2D',
        conv2dConfig(f, {
          kernelSize: kernel,
          strides: stride,
          padding: 'same',
          useBias: false,
          kernelInitializer: init.heNormal(),
        }),
        x,
      );
    const bn = (x: SymTensor) =>
      g.apply(
        'BatchNormalization',
        batchNormConfig({ axis: -1, momentum: 0.1, epsilon: 1e-5, gammaInitializer: init.uniform() }),
        x,
      );
    const act = (x: SymTensor) => g.apply('Activation', { activation: 'relu' }, x);

    let x = act(bn(conv(input, 16, 3)));
    [16, 32, 64].forEach((base, blockIndex) => {
      const stride = blockIndex > 0 ? 2 : 1;
      // expand_conv
      let y = act(bn(conv(x, base * k, 3, stride)));
      y = conv(y, base * k, 3);
      const skip = conv(x, base * k, 1, stride);
      x = g.apply('Add', {}, [y, skip]);
      for (let i = 0; i < N - 1; i++) {
        // conv_block
        const init_ = x;
        let z = conv(act(bn(x)), base * k, 3);
        z = conv(act(bn(z)), base * k, 3);
        x = g.apply('Add', {}, [init_, z]);
      }
      x = act(bn(x));
    });
    x = g.apply('GlobalAveragePooling2D', { data_format: 'channels_last' }, x);
    x = g.apply('Dense', denseConfig(dim), x, 'embedding');
    return { output: x };
  };
}

// ---------------------------------------------------------------------------------------------------------
// Plain nets (models/plainnet.py): a Sequential whose layers are named by their position in `filters`.

type PlainSpec = (number | 'ap' | 'mp' | 'gap' | `fc${number}`)[];

function plainNet(filters: PlainSpec, reg: number): Builder {
  return (g, input, dim) => {
    const r = l2(reg);
    const convRelu = (x: SymTensor, f: number, name: string, extra?: Record<string, unknown>) =>
      g.apply(
        'Conv2D',
        conv2dConfig(f, { kernelSize: 3, padding: 'same', activation: 'relu', kernelRegularizer: r }),
        x,
        name,
        extra,
      );
    const bn = (x: SymTensor, name: string) => g.apply('BatchNormalization', batchNormConfig(), x, name);

    // The reference passes input_shape to the first Conv2D, so Keras records it in that layer's config.
    const extra = { batch_input_shape: input.shape, dtype: 'float32' };
    let x = bn(convRelu(input, filters[0] as number, 'conv1', extra), 'bn1');
    let flattened = false;
    filters.slice(1).forEach((f, j) => {
      const i = j + 2;
      if (f === 'mp') x = g.apply('MaxPooling2D', pool2dConfig(2), x, `mp${i}`);
      else if (f === 'ap') x = g.apply('AveragePooling2D', pool2dConfig(2), x, `ap${i}`);
      else if (f === 'gap') {
        x = g.apply('GlobalAveragePooling2D', { data_format: 'channels_last' }, x, 'avg_pool');
        flattened = true;
      } else if (typeof f === 'string') {
        if (!flattened) {
          x = g.apply('Flatten', { data_format: 'channels_last' }, x, 'flatten');
          flattened = true;
        }
        x = g.apply(
          'Dense',
          denseConfig(Number(f.slice(2)), { activation: 'relu', kernelRegularizer: r }),
          x,
          `fc${i}`,
        );
        x = bn(x, `bn${i}`);
      } else {
        x = bn(convRelu(x, f, `conv${i}`), `bn${i}`);
      }
    });
    if (!flattened) x = g.apply('Flatten', { data_format: 'channels_last' }, x, 'flatten');
    x = g.apply('Dense', denseConfig(dim), x, 'embedding');
    return { output: x, modelName: `sequential_${g.uid('sequential')}` };
  };
}

// ---------------------------------------------------------------------------------------------------------
// ResNet-50: keras.applications.ResNet50(include_top=False, weights=None) as keras_applications >= 1.0.7
// writes it (with `pool1_pad`, he_normal), then the reference's GlobalAvgPool2D `avg_pool` + Dense `embedding`.
// `legacy`: the layout of older keras_applications (Keras 2.2.0 era): no `pool1_pad` before the max pooling,
// default initialisers. Same weights and names; the feature maps after pooling are 1 pixel smaller.

function resnet50(legacy = false): Builder {
  return (g, input, dim) => {
    const kernelInitializer = legacy ? init.glorotUniform() : init.heNormal();
    const conv = (x: SymTensor, f: number, k: number, name: string, stride = 1, padding: 'same' | 'valid' = 'valid') =>
      g.apply('Conv2D', conv2dConfig(f, { kernelSize: k, strides: stride, padding, kernelInitializer }), x, name);
    const bn = (x: SymTensor, name: string) => g.apply('BatchNormalization', batchNormConfig({ axis: 3 }), x, name);
    const relu = (x: SymTensor) => g.apply('Activation', { activation: 'relu' }, x);

    const block = (input: SymTensor, f: [number, number, number], stage: number, b: string, stride: number | null) => {
      const cb = `res${stage}${b}_branch`;
      const bb = `bn${stage}${b}_branch`;
      let x = relu(bn(conv(input, f[0], 1, `${cb}2a`, stride ?? 1), `${bb}2a`));
      x = relu(bn(conv(x, f[1], 3, `${cb}2b`, 1, 'same'), `${bb}2b`));
      x = bn(conv(x, f[2], 1, `${cb}2c`), `${bb}2c`);
      // stride === null: identity block; otherwise conv_block with a projection shortcut.
      const shortcut = stride === null ? input : bn(conv(input, f[2], 1, `${cb}1`, stride), `${bb}1`);
      return relu(g.apply('Add', {}, [x, shortcut]));
    };

    let x = g.apply(
      'ZeroPadding2D',
      {
        padding: [
          [3, 3],
          [3, 3],
        ],
        data_format: 'channels_last',
      },
      input,
      'conv1_pad',
    );
    x = relu(bn(conv(x, 64, 7, 'conv1', 2), 'bn_conv1'));
    if (!legacy)
      x = g.apply(
        'ZeroPadding2D',
        {
          padding: [
            [1, 1],
            [1, 1],
          ],
          data_format: 'channels_last',
        },
        x,
        'pool1_pad',
      );
    x = g.apply('MaxPooling2D', pool2dConfig(3, 2), x);
    const stages: [number, [number, number, number], number][] = [
      [2, [64, 64, 256], 3],
      [3, [128, 128, 512], 4],
      [4, [256, 256, 1024], 6],
      [5, [512, 512, 2048], 3],
    ];
    for (const [stage, f, count] of stages) {
      x = block(x, f, stage, 'a', stage === 2 ? 1 : 2);
      for (let i = 1; i < count; i++) x = block(x, f, stage, String.fromCharCode(97 + i), null);
    }
    x = g.apply('GlobalAveragePooling2D', { data_format: 'channels_last' }, x, 'avg_pool');
    x = g.apply('Dense', denseConfig(dim), x, 'embedding');
    return { output: x };
  };
}

// ---------------------------------------------------------------------------------------------------------

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
  {
    name: 'resnet-32',
    description:
      'CIFAR ResNet-32 (SmallResNet n=5, 16/32/64, no top): the embedding is the 64-d global average pooling',
    defaultInputShape: [null, null, 3],
    embeddingLayer: 'avg_pool',
    fixedEmbeddingDim: 64,
    build: smallResNet(5, [16, 32, 64], false),
  },
  {
    name: 'resnet-110',
    description:
      'CIFAR ResNet-110 (SmallResNet n=18, 16/32/64, no top): the embedding is the 64-d global average pooling',
    defaultInputShape: [null, null, 3],
    embeddingLayer: 'avg_pool',
    fixedEmbeddingDim: 64,
    build: smallResNet(18, [16, 32, 64], false),
  },
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

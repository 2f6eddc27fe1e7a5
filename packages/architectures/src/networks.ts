/**
 * The reference's network bodies (cvjena/semantic-embeddings models/*.py), each a Builder that adds its layers to a
 * KerasGraph in the reference's creation order, so auto-named layers get the reference's names. architectures.ts
 * lists them with their parameters and adds the heads.
 */
import {
  type KerasGraph,
  type SymTensor,
  batchNormConfig,
  conv2dConfig,
  denseConfig,
  init,
  l2,
  pool2dConfig,
  pyRound,
} from './keras.js';

export type Builder = (g: KerasGraph, input: SymTensor, dim: number) => { output: SymTensor; modelName?: string };

// ---------------------------------------------------------------------------------------------------------
// CIFAR ResNets (models/cifar_resnet.py: SmallResNet)

export function smallResNet(n: number, filters: number[], includeTop: boolean): Builder {
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

export function pyramidNet(depth: number, alpha: number, bottleneck: boolean): Builder {
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

export function wideResNet(N: number, k: number): Builder {
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

export type PlainSpec = (number | 'ap' | 'mp' | 'gap' | `fc${number}`)[];

export function plainNet(filters: PlainSpec, reg: number): Builder {
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

export function resnet50(legacy = false): Builder {
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

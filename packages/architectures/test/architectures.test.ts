// Every architecture builds in TF.js; parameter counts are checked against counts derived by hand from the
// reference's definitions (formulas below, written independently of the builders) and published numbers.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  ArchitectureError,
  buildArchitecture,
  listArchitectures,
  modelFromKerasConfig,
  type BuildOptions,
  type KerasModelConfig,
} from '../src/index.js';

// ---- counting by formula: conv k x k (cin -> cout) with/without bias, BN = 4 params per channel (incl. moving stats)
const conv = (k: number, cin: number, cout: number, bias = true) => k * k * cin * cout + (bias ? cout : 0);
const bn = (c: number) => 4 * c;
const dense = (cin: number, cout: number) => cin * cout + cout;

function cifarResNetParams(n: number, filters: number[], topDim?: number): number {
  let p = conv(3, 3, filters[0]!) + bn(filters[0]!);
  let prev = filters[0]!;
  for (const f of filters) {
    for (let b = 0; b < n; b++) {
      p += conv(3, b === 0 ? prev : f, f) + bn(f) + conv(3, f, f) + bn(f);
    }
    prev = f;
  }
  return p + (topDim ? dense(filters[filters.length - 1]!, topDim) : 0);
}

function wrnParams(N: number, k: number, dim: number): number {
  let p = conv(3, 3, 16, false) + bn(16);
  let prev = 16;
  for (const base of [16, 32, 64]) {
    const w = base * k;
    p += conv(3, prev, w, false) + bn(w) + conv(3, w, w, false) + conv(1, prev, w, false);
    p += (N - 1) * (bn(w) + conv(3, w, w, false) + bn(w) + conv(3, w, w, false));
    p += bn(w);
    prev = w;
  }
  return p + dense(prev, dim);
}

function pyramidBottleneckParams(depth: number, alpha: number, dim: number): number {
  const n = (depth - 2) / 9;
  let p = conv(3, 3, 16) + bn(16);
  let cin = 16;
  let ch = 16;
  for (let i = 0; i < 3 * n; i++) {
    ch += alpha / (3 * n);
    const f = Math.round(ch);
    p += bn(cin) + conv(1, cin, f) + bn(f) + conv(3, f, f) + bn(f) + conv(1, f, 4 * f) + bn(4 * f);
    cin = 4 * f;
  }
  return p + bn(cin) + dense(cin, dim);
}

function plain11Params(dim: number): number {
  const convs = [64, 64, 128, 128, 128, 256, 256, 256, 512];
  let p = 0;
  let cin = 3;
  for (const c of convs) {
    p += conv(3, cin, c) + bn(c);
    cin = c;
  }
  return p + dense(512, 512) + bn(512) + dense(512, dim);
}

const clsHead = (dim: number, classes: number) => bn(dim) + dense(dim, classes);

async function build(name: string, o: BuildOptions) {
  const cfg = buildArchitecture(name, o);
  const model = await modelFromKerasConfig(tf, cfg);
  return { cfg, model };
}

const layerNames = (cfg: KerasModelConfig) => cfg.config.layers.map((l) => l.name);

describe('listArchitectures', () => {
  it('names the reference architectures and the Fashion-MNIST default', () => {
    const names = listArchitectures().map((a) => a.name);
    for (const n of [
      'simple',
      'resnet-32',
      'resnet-110',
      'resnet-110-fc',
      'resnet-110-wfc',
      'wrn-28-10',
      'pyramidnet-272-200',
      'resnet-50',
      'fashion-cnn',
    ]) {
      expect(names).toContain(n);
    }
  });
});

describe('parameter counts', () => {
  it('ResNet-50 with a 1000-way top has the Keras count 25,636,712', async () => {
    const { model } = await build('resnet-50', { embeddingDim: 1000, loss: 'mse' });
    expect(model.countParams()).toBe(25_636_712);
    model.dispose();
  });

  it('resnet-110 (CIFAR, no top) has ~1.7M parameters (He et al.: 1.7M)', async () => {
    const { model } = await build('resnet-110', { embeddingDim: 64, loss: 'mse' });
    expect(model.countParams()).toBe(cifarResNetParams(18, [16, 32, 64]));
    expect(model.countParams()).toBe(1_739_456); // counted by hand, see README
    expect(Math.abs(model.countParams() - 1.7e6)).toBeLessThan(0.05e6);
    model.dispose();
  });

  it('resnet-32 has ~0.46M parameters (He et al.: 0.46M)', async () => {
    const { model } = await build('resnet-32', { embeddingDim: 64, loss: 'mse' });
    expect(model.countParams()).toBe(cifarResNetParams(5, [16, 32, 64]));
    expect(Math.abs(model.countParams() - 0.46e6)).toBeLessThan(0.01e6);
    model.dispose();
  });

  it('resnet-110-fc and resnet-110-wfc with embedding + l2norm + cls head', async () => {
    for (const [name, filters] of [
      ['resnet-110-fc', [16, 32, 64]],
      ['resnet-110-wfc', [32, 64, 128]],
    ] as const) {
      const { model } = await build(name, { embeddingDim: 100, numClasses: 100, clsWeight: 0.1 });
      expect(model.countParams()).toBe(cifarResNetParams(18, [...filters], 100) + clsHead(100, 100));
      model.dispose();
    }
  });

  it('wrn-28-10 has ~36.5M parameters (Zagoruyko & Komodakis: 36.5M)', async () => {
    const { model } = await build('wrn-28-10', { embeddingDim: 100, loss: 'mse' });
    expect(model.countParams()).toBe(wrnParams(4, 10, 100));
    expect(Math.abs(model.countParams() - 36.5e6)).toBeLessThan(0.1e6);
    model.dispose();
  });

  it('pyramidnet-272-200 (bottleneck) matches the formula', async () => {
    const { model } = await build('pyramidnet-272-200', { embeddingDim: 100, loss: 'mse' });
    expect(model.countParams()).toBe(pyramidBottleneckParams(272, 200, 100));
    // Han et al. report 26.0M without conv biases and BN moving statistics; ours (Keras) counts both.
    expect(model.countParams()).toBeGreaterThan(26.0e6);
    expect(model.countParams()).toBeLessThan(26.7e6);
    model.dispose();
  });

  it('simple (Plain-11) matches the formula', async () => {
    const { model } = await build('simple', { embeddingDim: 100, loss: 'mse' });
    expect(model.countParams()).toBe(plain11Params(100));
    model.dispose();
  });

  it('fashion-cnn matches the formula', async () => {
    const { model } = await build('fashion-cnn', { embeddingDim: 10, numClasses: 10, clsWeight: 1 });
    const p =
      conv(3, 1, 16) +
      bn(16) +
      conv(3, 16, 32) +
      bn(32) +
      dense(7 * 7 * 32, 128) +
      bn(128) +
      dense(128, 10) +
      clsHead(10, 10);
    expect(model.countParams()).toBe(p);
    model.dispose();
  });
});

describe('layer names as the reference', () => {
  it('resnet-110-wfc + l2norm + cls: the names the released weights are stored under', () => {
    const cfg = buildArchitecture('resnet-110-wfc', { embeddingDim: 100, numClasses: 100, clsWeight: 0.1 });
    const names = layerNames(cfg);
    const expected = ['input_1', 'conv0', 'bn0'];
    for (let u = 1; u <= 3; u++) {
      for (let b = 1; b <= 18; b++) expected.push(`res${u}-${b}x`, `bn${u}-${b}x`, `res${u}-${b}y`, `bn${u}-${b}y`);
    }
    expected.push(
      'avg2-1',
      'pad2-1',
      'avg3-1',
      'pad3-1',
      'avg_pool',
      'embedding',
      'l2norm',
      'batch_normalization_1',
      'prob',
    );
    // 1 + 3*18*2 activations before the head, so the head's ReLU is activation_110 in a fresh Keras session.
    expected.push('activation_1', 'activation_109', 'activation_110', 'add_1', 'add_54');
    for (const n of expected) expect(names).toContain(n);
    expect(names).not.toContain('avg1-1');
    expect(names).not.toContain('add_55');
    const pad = cfg.config.layers.find((l) => l.name === 'pad2-1')!;
    expect(pad.class_name).toBe('ChannelPadding');
    expect(pad.config.padding).toEqual([16, 16]); // 32 -> 64 channels, split (d//2, d - d//2)
    expect(cfg.config.output_layers).toEqual([
      ['l2norm', 0, 0],
      ['prob', 0, 0],
    ]);
    expect(cfg.config.input_layers).toEqual([['input_1', 0, 0]]);
    const l2 = cfg.config.layers.find((l) => l.name === 'l2norm')!;
    expect(l2.class_name).toBe('Lambda');
    expect(l2.config.function).toEqual(['l2norm', null, null]);
    const prob = cfg.config.layers.find((l) => l.name === 'prob')!;
    expect(prob.config.activation).toBe('softmax');
    expect(prob.inbound_nodes).toEqual([[['batch_normalization_1', 0, 0, {}]]]);
  });

  it('resnet-110: channel padding 16->32 is (8, 8); kernels regularised with l2(2e-4)', () => {
    const cfg = buildArchitecture('resnet-110', { embeddingDim: 64, loss: 'mse' });
    expect(cfg.config.layers.find((l) => l.name === 'pad2-1')!.config.padding).toEqual([8, 8]);
    expect(cfg.config.layers.find((l) => l.name === 'avg2-1')!.config.pool_size).toEqual([2, 2]);
    const convs = cfg.config.layers.filter((l) => l.class_name === 'Conv2D');
    expect(convs.length).toBe(1 + 3 * 18 * 2);
    for (const c of convs)
      expect((c.config.kernel_regularizer as { config: { l2: number } }).config.l2).toBe(Math.fround(2e-4));
    expect(cfg.config.output_layers).toEqual([['avg_pool', 0, 0]]);
  });

  it('simple: Sequential-style names by list position', () => {
    const cfg = buildArchitecture('simple', { embeddingDim: 100 });
    const weighted = cfg.config.layers
      .filter((l) => ['Conv2D', 'Dense', 'BatchNormalization'].includes(l.class_name))
      .map((l) => l.name);
    expect(weighted).toEqual([
      'conv1',
      'bn1',
      'conv2',
      'bn2',
      'conv4',
      'bn4',
      'conv5',
      'bn5',
      'conv6',
      'bn6',
      'conv8',
      'bn8',
      'conv9',
      'bn9',
      'conv10',
      'bn10',
      'conv12',
      'bn12',
      'fc14',
      'bn14',
      'embedding',
    ]);
    expect(layerNames(cfg)).toEqual(
      expect.arrayContaining(['conv1_input', 'ap3', 'ap7', 'ap11', 'avg_pool', 'l2norm']),
    );
    const conv1 = cfg.config.layers.find((l) => l.name === 'conv1')!.config;
    expect(conv1.batch_input_shape).toEqual([null, 32, 32, 3]);
    expect(conv1.activation).toBe('relu');
  });

  it('resnet-50: keras.applications names', () => {
    const cfg = buildArchitecture('resnet-50', { embeddingDim: 128 });
    const names = layerNames(cfg);
    for (const n of [
      'conv1_pad',
      'conv1',
      'bn_conv1',
      'pool1_pad',
      'max_pooling2d_1',
      'res2a_branch2a',
      'res2a_branch1',
      'bn2a_branch1',
      'res3d_branch2c',
      'res4f_branch2b',
      'res5c_branch2c',
      'bn5c_branch2c',
      'activation_49',
      'avg_pool',
      'embedding',
      'l2norm',
    ]) {
      expect(names).toContain(n);
    }
    expect(cfg.config.layers.filter((l) => l.class_name === 'Conv2D').length).toBe(53);
    expect(cfg.config.layers.filter((l) => l.class_name === 'BatchNormalization').length).toBe(53);
    expect(names).not.toContain('res4g_branch2a');
  });

  it('resnet-50-legacy: same weights and names, no pool1_pad (older keras_applications)', async () => {
    const cur = buildArchitecture('resnet-50', { embeddingDim: 8, loss: 'mse', inputShape: [64, 64, 3] });
    const old = buildArchitecture('resnet-50-legacy', { embeddingDim: 8, loss: 'mse', inputShape: [64, 64, 3] });
    expect(layerNames(old)).toEqual(layerNames(cur).filter((n) => n !== 'pool1_pad'));
    const a = await modelFromKerasConfig(tf, cur);
    const b = await modelFromKerasConfig(tf, old);
    expect(b.countParams()).toBe(a.countParams());
    // conv1: (64 + 6 - 7) / 2 + 1 = 32; max pool 3/2: with padding (34 - 3) / 2 + 1 = 16, without (32 - 3) / 2 + 1 = 15
    expect(a.getLayer('max_pooling2d_1').outputShape).toEqual([null, 16, 16, 64]);
    expect(b.getLayer('max_pooling2d_1').outputShape).toEqual([null, 15, 15, 64]);
    a.dispose();
    b.dispose();
  });

  it('wrn-28-10 and pyramidnet: auto-named like a fresh Keras session', () => {
    const w = layerNames(buildArchitecture('wrn-28-10', { embeddingDim: 10 }));
    // 1 + 3 * (3 + 3 * 2) convolutions = 28, 1 + 3 * (1 + 3 * 2 + 1) BNs = 25
    expect(w).toContain('conv2d_28');
    expect(w).not.toContain('conv2d_29');
    expect(w).toContain('batch_normalization_25');
    expect(w).not.toContain('batch_normalization_26');
    expect(w).toContain('global_average_pooling2d_1');
    const p = buildArchitecture('pyramidnet-272-200', { embeddingDim: 10 });
    const pn = layerNames(p);
    expect(pn).toEqual(
      expect.arrayContaining([
        'conv0',
        'bn0',
        'bn4',
        'act4',
        'avg_pool',
        'embedding',
        'channel_padding_1',
        'average_pooling2d_2',
      ]),
    );
    // 90 bottleneck blocks x 3 convolutions, + conv0
    expect(p.config.layers.filter((l) => l.class_name === 'Conv2D').length).toBe(271);
    const pad1 = p.config.layers.find((l) => l.name === 'channel_padding_1')!;
    // first block: 16 channels in, round(16 + 200/90) * 4 = 72 out
    expect(pad1.config.padding).toEqual([0, 56]);
  });

  it("Keras layer order: tfjs (its own port of Keras's graph sort) lists the same order", async () => {
    for (const name of ['resnet-32', 'fashion-cnn']) {
      const { cfg, model } = await build(name, {
        embeddingDim: 64,
        numClasses: 5,
        clsWeight: 1,
        inputShape: [8, 8, name === 'fashion-cnn' ? 1 : 3],
      });
      expect(model.layers.map((l) => l.name)).toEqual(layerNames(cfg));
      model.dispose();
    }
  });
});

describe('heads and output shapes', () => {
  it('every architecture builds; outputs [embedding, prob] with the right shapes', async () => {
    for (const a of listArchitectures()) {
      const dim = a.fixedEmbeddingDim ?? 12;
      const shape = a.defaultInputShape[2] === 1 ? [28, 28, 1] : [32, 32, 3];
      const { cfg, model } = await build(a.name, {
        embeddingDim: dim,
        numClasses: 7,
        clsWeight: 0.5,
        inputShape: shape,
      });
      expect(
        model.outputs.map((o) => o.shape),
        a.name,
      ).toEqual([
        [null, dim],
        [null, 7],
      ]);
      expect(model.outputNames).toEqual(['l2norm', 'prob']);
      expect(cfg.config.layers.some((l) => l.name === a.embeddingLayer)).toBe(true);
      model.dispose();
    }
  });

  it('runs: l2norm rows have unit norm, prob rows sum to 1 (resnet-32, simple, fashion-cnn, resnet-50 at 32x32)', async () => {
    for (const [name, shape, dim] of [
      ['resnet-32', [32, 32, 3], 64],
      ['simple', [32, 32, 3], 20],
      ['fashion-cnn', [28, 28, 1], 10],
      ['resnet-50', [32, 32, 3], 16],
    ] as const) {
      const { model } = await build(name, { embeddingDim: dim, numClasses: 5, clsWeight: 1, inputShape: [...shape] });
      const x = tf.randomNormal([3, ...shape], 0, 1, 'float32', 7);
      const [emb, prob] = model.predict(x) as tf.Tensor[];
      expect(emb!.shape).toEqual([3, dim]);
      const norms = tf.norm(emb!, 'euclidean', -1).dataSync();
      for (const v of norms) expect(v).toBeCloseTo(1, 5);
      for (const v of tf.sum(prob!, -1).dataSync()) expect(v).toBeCloseTo(1, 5);
      tf.dispose([x, emb!, prob!]);
      model.dispose();
    }
  });

  it('softmax_corr ends in a softmax layer named softmax; mse / unnorm_corr have no head', async () => {
    const s = await build('fashion-cnn', { embeddingDim: 6, loss: 'softmax_corr' });
    expect(s.model.outputNames).toEqual(['softmax']);
    const y = s.model.predict(tf.ones([2, 28, 28, 1])) as tf.Tensor;
    for (const v of tf.sum(y, -1).dataSync()) expect(v).toBeCloseTo(1, 5);
    s.model.dispose();
    for (const loss of ['mse', 'unnorm_corr'] as const) {
      const cfg = buildArchitecture('fashion-cnn', { embeddingDim: 6, loss });
      expect(cfg.config.output_layers).toEqual([['embedding', 0, 0]]);
      expect(cfg.config.name).toBe('sequential_1');
    }
  });

  it('clsBase picks the classifier input by name or Python index', async () => {
    const byName = buildArchitecture('resnet-110-wfc', {
      embeddingDim: 100,
      numClasses: 10,
      clsWeight: 1,
      clsBase: 'avg_pool',
    });
    const relu = byName.config.layers.find((l) => l.name === 'activation_110')!;
    expect(relu.inbound_nodes).toEqual([[['avg_pool', 0, 0, {}]]]);
    const m = await modelFromKerasConfig(tf, byName);
    expect(m.getLayer('prob').getWeights()[0]!.shape).toEqual([128, 10]);
    m.dispose();
    // -3 from the end of [..., avg_pool, embedding, l2norm] is avg_pool, as Keras's model.layers[int(cls_base)].
    const byIndex = buildArchitecture('resnet-110-wfc', {
      embeddingDim: 100,
      numClasses: 10,
      clsWeight: 1,
      clsBase: '-3',
    });
    expect(byIndex.config.layers.find((l) => l.name === 'activation_110')!.inbound_nodes).toEqual([
      [['avg_pool', 0, 0, {}]],
    ]);
  });
});

describe('bad options fail with one clear line', () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      'unknown architecture',
      () => buildArchitecture('resnet-7', { embeddingDim: 3 }),
      /unknown architecture 'resnet-7'; known: simple, /,
    ],
    [
      'resnet-110 cannot output 100 dims',
      () => buildArchitecture('resnet-110', { embeddingDim: 100 }),
      /resnet-110 has no embedding layer.*64-d.*resnet-110-fc/,
    ],
    [
      'cls without numClasses',
      () => buildArchitecture('simple', { embeddingDim: 3, clsWeight: 1 }),
      /numClasses \(required with clsWeight > 0\)/,
    ],
    [
      'bad input shape',
      () => buildArchitecture('simple', { embeddingDim: 3, inputShape: [32, 32] }),
      /inputShape must be \[height, width, channels\]/,
    ],
    [
      'zero channels',
      () => buildArchitecture('simple', { embeddingDim: 3, inputShape: [32, 32, 0] }),
      /inputShape\[2\] must be an integer >= 1/,
    ],
    ['bad dim', () => buildArchitecture('simple', { embeddingDim: 2.5 }), /embeddingDim must be an integer/],
    [
      'bad loss',
      () => buildArchitecture('simple', { embeddingDim: 3, loss: 'cosine' as never }),
      /unknown loss 'cosine'/,
    ],
    [
      'bad clsBase',
      () => buildArchitecture('simple', { embeddingDim: 3, numClasses: 2, clsWeight: 1, clsBase: 'fc99' }),
      /no layer named 'fc99'/,
    ],
    [
      'clsBase index',
      () => buildArchitecture('simple', { embeddingDim: 3, numClasses: 2, clsWeight: 1, clsBase: '500' }),
      /index 500 is out of range/,
    ],
    ['too small input', () => buildArchitecture('simple', { embeddingDim: 3, inputShape: [4, 4, 3] }), /layer .*: /],
  ];
  for (const [what, fn, re] of cases) {
    it(what, () => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ArchitectureError);
      expect((err as ArchitectureError).userFacing).toBe(true);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    });
  }
});

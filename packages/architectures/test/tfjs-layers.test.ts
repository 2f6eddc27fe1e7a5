// The custom layers and weight I/O in TF.js, checked against hand-computed values.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  ArchitectureError,
  KerasGraph,
  buildArchitecture,
  loadWeightsByKerasName,
  modelFromKerasConfig,
  weightsFromKerasNames,
  type KerasModelConfig,
  type WeightArray,
} from '../src/index.js';

/** input -> one layer, as a Keras functional config. */
function single(
  className: string,
  config: Record<string, unknown>,
  shape: (number | null)[],
  name = 'x',
): KerasModelConfig {
  const g = new KerasGraph();
  const i = g.input(shape);
  // KerasGraph infers shapes only for classes it knows; Lambda/ChannelPadding are among them.
  const o = g.apply(className, config, i, name);
  return g.model([i], [o]);
}

describe('Lambda l2norm (K.l2_normalize over the last axis, epsilon 1e-12 on the squared norm)', () => {
  it('normalises rows and keeps tiny / zero rows finite as Keras does', async () => {
    const model = await modelFromKerasConfig(
      tf,
      single(
        'Lambda',
        {
          function: ['l2norm', null, null],
          function_type: 'lambda',
          output_shape: null,
          output_shape_type: 'raw',
          arguments: {},
        },
        [2],
        'l2norm',
      ),
    );
    const x = tf.tensor2d([
      [3, 4],
      [-1, 0],
      [1e-7, 0], // sum of squares 1e-14 < 1e-12: divided by sqrt(1e-12) = 1e-6, not by its norm
      [0, 0],
    ]);
    const y = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    const want = [
      [0.6, 0.8],
      [-1, 0],
      [0.1, 0],
      [0, 0],
    ];
    y.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 6)));
    model.dispose();
  });

  it('works on 4-D inputs (last axis) and has a gradient', async () => {
    const model = await modelFromKerasConfig(
      tf,
      single('Lambda', { function: ['l2norm', null, null], function_type: 'lambda' }, [2, 2, 3]),
    );
    const x = tf.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 1);
    const y = model.predict(x) as tf.Tensor;
    for (const n of tf.norm(y, 'euclidean', -1).dataSync()) expect(n).toBeCloseTo(1, 5);
    // d/dx sum(w . x/|x|) = (w - (w.u)u)/|x| for u = x/|x|: compare with tf.grad of the layer.
    const v = tf.tensor1d([3, 4, 12]);
    const w = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(model.apply(tf.tile(t.reshape([1, 1, 1, 3]), [1, 2, 2, 1])) as tf.Tensor, w)),
    )(v);
    const u = [3 / 13, 4 / 13, 12 / 13];
    const wu = 1 * u[0]! + 2 * u[1]! + 3 * u[2]!;
    // four identical positions, so four times the single-vector gradient
    const want = [1, 2, 3].map((wi, i) => (4 * (wi - wu * u[i]!)) / 13);
    g.dataSync().forEach((gi, i) => expect(gi).toBeCloseTo(want[i]!, 6));
    model.dispose();
  });

  it('recognises the reference l2norm by layer name when the function is Python bytecode', async () => {
    const model = await modelFromKerasConfig(
      tf,
      single(
        'Lambda',
        { function: ['4wEAAAAAAAAAAQAAAAMAAABTAAAAcw4AAAB0AHwAZAGDAlMAKQJO', null, null], function_type: 'lambda' },
        [2],
        'l2norm',
      ),
    );
    expect((model.predict(tf.tensor2d([[0, 5]])) as tf.Tensor).arraySync()).toEqual([[0, 1]]);
    model.dispose();
  });

  it('an unknown Lambda is a clear error naming it; a mapping makes it loadable', async () => {
    const cfg = single('Lambda', { function: ['4wEAAAAAAAAA', null, null], function_type: 'lambda' }, [2], 'lambda_1');
    await expect(modelFromKerasConfig(tf, cfg)).rejects.toThrow(
      /Lambda layer 'lambda_1' holds Python code.*l2norm, identity/,
    );
    await expect(modelFromKerasConfig(tf, cfg)).rejects.toBeInstanceOf(ArchitectureError);
    await expect(modelFromKerasConfig(tf, cfg, { lambdas: { lambda_1: 'nope' as never } })).rejects.toThrow(
      /lambda_1=nope: unknown function/,
    );
    const model = await modelFromKerasConfig(tf, cfg, { lambdas: { lambda_1: 'identity' } });
    expect((model.predict(tf.tensor2d([[2, 3]])) as tf.Tensor).arraySync()).toEqual([[2, 3]]);
    model.dispose();
  });
});

describe('ChannelPadding', () => {
  it('pads zeros before and after on the channel axis (channels_last), as the reference stores it', async () => {
    const model = await modelFromKerasConfig(
      tf,
      single('ChannelPadding', { padding: [1, 2], data_format: 'channels_last' }, [1, 2, 2]),
    );
    expect(model.outputs[0]!.shape).toEqual([null, 1, 2, 5]);
    const y = (
      model.predict(
        tf.tensor4d([
          [
            [
              [1, 2],
              [3, 4],
            ],
          ],
        ]),
      ) as tf.Tensor
    ).arraySync();
    expect(y).toEqual([
      [
        [
          [0, 1, 2, 0, 0],
          [0, 3, 4, 0, 0],
        ],
      ],
    ]);
    const cfg = model.getLayer('x').getConfig();
    expect(cfg.padding).toEqual([1, 2]);
    model.dispose();
  });

  it('channels_first pads axis 1', async () => {
    const g = new KerasGraph();
    const i = g.input([1, 1, 2]);
    // KerasGraph's shape rule is channels-last only; the layer itself honours data_format.
    const o = g.apply('Activation', { activation: 'linear' }, i, 'lin');
    const cfg = g.model([i], [o]);
    cfg.config.layers.push({
      name: 'pad',
      class_name: 'ChannelPadding',
      config: { name: 'pad', trainable: true, padding: [2, 0], data_format: 'channels_first' },
      inbound_nodes: [[['lin', 0, 0, {}]]],
    });
    cfg.config.output_layers = [['pad', 0, 0]];
    const model = await modelFromKerasConfig(tf, cfg);
    expect(model.outputs[0]!.shape).toEqual([null, 3, 1, 2]);
    const y = (model.predict(tf.tensor4d([[[[7, 8]]]])) as tf.Tensor).arraySync();
    expect(y).toEqual([[[[0, 0]], [[0, 0]], [[7, 8]]]]);
    model.dispose();
  });

  it('rejects a negative padding with the layer name', async () => {
    await expect(
      modelFromKerasConfig(
        tf,
        single('ChannelPadding', { padding: [1, -1], data_format: 'channels_last' }, [1, 1, 1], 'pad9'),
      ),
    ).rejects.toThrow(/layer pad9: ChannelPadding padding/);
  });
});

describe('weights by Keras name', () => {
  it('copies every weight between two models by name and reproduces the outputs', async () => {
    const cfg = buildArchitecture('resnet-32', {
      embeddingDim: 64,
      numClasses: 3,
      clsWeight: 1,
      inputShape: [8, 8, 3],
    });
    const a = await modelFromKerasConfig(tf, cfg);
    const b = await modelFromKerasConfig(tf, cfg);
    // Non-default BN statistics so that moving_mean / moving_variance matter.
    for (const l of weightsFromKerasNames(a)) {
      for (const w of l.weights)
        if (w.name.includes('moving')) w.variable.write(tf.randomUniform(w.shape, 0.5, 1.5, 'float32', 3));
    }
    const store = new Map<string, WeightArray>();
    for (const l of weightsFromKerasNames(a))
      for (const w of l.weights)
        store.set(w.name, { shape: w.shape, data: w.variable.read().dataSync() as Float32Array });
    expect(store.has('bn2-1x/moving_variance:0')).toBe(true);
    expect(store.has('prob/kernel:0')).toBe(true);
    const res = loadWeightsByKerasName(tf, b, (n) => store.get(n));
    expect(res.loaded.length).toBe(store.size);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5);
    const ya = a.predict(x) as tf.Tensor[];
    const yb = b.predict(x) as tf.Tensor[];
    for (let i = 0; i < 2; i++) expect(tf.max(tf.abs(tf.sub(ya[i]!, yb[i]!))).dataSync()[0]).toBe(0);
    a.dispose();
    b.dispose();
  });

  it('missing and mismatched weights: errors by default, skipped when asked (as --finetune)', async () => {
    const m = await modelFromKerasConfig(
      tf,
      buildArchitecture('fashion-cnn', { embeddingDim: 4, numClasses: 3, clsWeight: 1 }),
    );
    const names = weightsFromKerasNames(m).flatMap((l) => l.weights);
    const full = new Map(
      names.map((w) => [
        w.name,
        { shape: w.shape, data: new Float32Array(w.shape.reduce((p, d) => p * d, 1)).fill(0.25) },
      ]),
    );
    const before = m.getLayer('conv1').getWeights()[0]!.dataSync()[0];
    full.set('prob/kernel:0', { shape: [4, 7], data: new Float32Array(28) });
    expect(() => loadWeightsByKerasName(tf, m, (n) => full.get(n), { source: 'w.h5' })).toThrow(
      /w\.h5: layer prob: weight prob\/kernel:0 has shape \[4,7\], the model needs \[4,3\]/,
    );
    // a failed load changes nothing
    expect(m.getLayer('conv1').getWeights()[0]!.dataSync()[0]).toBe(before);
    const r = loadWeightsByKerasName(tf, m, (n) => (n.startsWith('embedding') ? undefined : full.get(n)), {
      skipMismatch: true,
      allowMissing: true,
    });
    expect(r.mismatched).toEqual(['prob/kernel:0']);
    expect(r.missing).toEqual(['embedding/kernel:0', 'embedding/bias:0']);
    expect(m.getLayer('conv1').getWeights()[0]!.dataSync()[0]).toBe(0.25);
    expect(() => loadWeightsByKerasName(tf, m, () => undefined)).toThrow(
      /layer conv1: weight conv1\/kernel:0 is missing/,
    );
    m.dispose();
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type * as tfTypes from '@tensorflow/tfjs';
import {
  compare,
  convertChecked,
  randomArray,
  rng,
  runOnnx,
  tfjs,
  tmp,
  toNchw,
  writeKerasH5,
  writeOneLayerH5,
} from './helpers.js';
import { randomizeWeights } from './random-weights.js';

type TF = typeof tfTypes;
type SymbolicTensor = tfTypes.SymbolicTensor;

/**
 * Models built with the TF.js layers API, serialised by TF.js into the Keras JSON format (class_name /
 * snake_case config, as Keras writes it), saved as Keras .h5, converted, and run against TF.js. Together
 * they exercise the layer table beyond what the real fixtures hold.
 */
interface Zoo {
  name: string;
  shape: number[];
  build: (tf: TF, input: SymbolicTensor) => SymbolicTensor | SymbolicTensor[];
  ints?: number;
  image?: boolean;
}

const L = (tf: TF) => tf.layers;
const apply = (layer: tfTypes.layers.Layer, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;

const ZOO: Zoo[] = [
  {
    name: 'convolutions: strided same, depthwise, separable, dilation, BN, activations',
    shape: [2, 13, 11, 3],
    image: true,
    build: (tf, x) => {
      const l = L(tf);
      let y = apply(l.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' }), x);
      y = apply(l.batchNormalization({ axis: -1 }), y);
      y = apply(
        l.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'hardSigmoid' }),
        y,
      );
      y = apply(l.separableConv2d({ filters: 5, kernelSize: 2, padding: 'valid', activation: 'elu' }), y);
      y = apply(l.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', useBias: false }), y);
      y = apply(l.batchNormalization({ axis: 3, center: false }), y);
      y = apply(l.activation({ activation: 'softplus' }), y);
      y = apply(l.conv2d({ filters: 3, kernelSize: [1, 2], activation: 'softsign' }), y);
      y = apply(l.activation({ activation: 'swish' }), y);
      return apply(l.globalMaxPooling2d({}), y);
    },
  },
  {
    name: 'padding, cropping, upsampling, pooling, merges, concatenation',
    shape: [2, 8, 9, 2],
    image: true,
    build: (tf, x) => {
      const l = L(tf);
      const a = apply(l.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }), x);
      const b = apply(l.conv2d({ filters: 3, kernelSize: 1, activation: 'sigmoid' }), x);
      let y = apply(
        l.zeroPadding2d({
          padding: [
            [1, 2],
            [0, 3],
          ],
        }),
        apply(l.add(), [a, b]),
      );
      y = apply(
        l.cropping2D({
          cropping: [
            [2, 0],
            [1, 1],
          ],
        }),
        y,
      );
      y = apply(l.upSampling2d({ size: [2, 1] }), y);
      const p = apply(l.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), y);
      const q = apply(l.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }), y);
      // (TF.js has no Subtract layer; the converter maps it with Add's code path.)
      const m = [l.multiply(), l.average(), l.maximum(), l.minimum()].map((layer) => apply(layer, [p, q]));
      y = apply(l.concatenate({ axis: -1 }), m);
      y = apply(l.leakyReLU({ alpha: 0.1 }), y);
      y = apply(l.prelu({ sharedAxes: [1, 2] }), y);
      y = apply(l.reLU({ maxValue: 0.8 }), y);
      y = apply(l.elu({}), y);
      y = apply(l.thresholdedReLU({ theta: 0.05 }), y);
      return apply(l.globalAveragePooling2d({}), y);
    },
  },
  {
    name: 'Flatten / Reshape / Permute / Dense on 3-D / Softmax layer / Concatenate on axis 1, two outputs',
    shape: [3, 4, 5, 2],
    image: true,
    build: (tf, x) => {
      const l = L(tf);
      let y = apply(l.conv2d({ filters: 4, kernelSize: 2, activation: 'relu' }), x);
      const f = apply(l.flatten(), y);
      y = apply(l.permute({ dims: [2, 1, 3] }), y);
      y = apply(l.reshape({ targetShape: [12, 4] }), y);
      y = apply(l.dense({ units: 3, activation: 'selu' }), y);
      const c = apply(l.concatenate({ axis: 1 }), [
        y,
        apply(l.reshape({ targetShape: [4, 3] }), apply(l.dense({ units: 12 }), f)),
      ]);
      // TF.js's Softmax layer only takes the last axis.
      const s = apply(l.softmax({ axis: -1 }), c);
      return [apply(l.flatten(), s), apply(l.dense({ units: 5, activation: 'softmax' }), f)];
    },
  },
  {
    // BatchNormalization(axis=1) is checked by hand below: TF.js applies its parameters along the last axis.
    name: 'channels_first convolutions and pooling, Flatten(channels_first)',
    shape: [2, 3, 10, 8],
    image: true,
    build: (tf, x) => {
      const l = L(tf);
      let y = apply(l.conv2d({ filters: 4, kernelSize: 3, padding: 'same', dataFormat: 'channelsFirst' }), x);
      y = apply(l.maxPooling2d({ poolSize: 2, dataFormat: 'channelsFirst' }), y);
      y = apply(
        l.zeroPadding2d({
          padding: [
            [0, 1],
            [1, 0],
          ],
          dataFormat: 'channelsFirst',
        }),
        y,
      );
      const g = apply(l.globalAveragePooling2d({ dataFormat: 'channelsFirst' }), y);
      return [apply(l.flatten({ dataFormat: 'channelsFirst' } as never), y), g];
    },
  },
  {
    name: 'Embedding + Conv1D (same, dilated) + pooling 1-D + Dense',
    shape: [3, 9],
    ints: 7,
    build: (tf, x) => {
      const l = L(tf);
      let y = apply(l.embedding({ inputDim: 7, outputDim: 4 }), x);
      y = apply(l.conv1d({ filters: 5, kernelSize: 3, padding: 'same', dilationRate: 2, activation: 'relu' }), y);
      y = apply(l.averagePooling1d({ poolSize: 2 }), y);
      y = apply(l.maxPooling1d({ poolSize: 2, strides: 1 }), y);
      const g = apply(l.globalMaxPooling1d({}), y);
      return [apply(l.dense({ units: 2 }), g), apply(l.globalAveragePooling1d({}), y)];
    },
  },
  {
    name: 'Conv2DTranspose (same / valid, kernel < stride), LayerNormalization (one and two axes), RepeatVector',
    shape: [2, 5, 6, 3],
    image: true,
    build: (tf, x) => {
      const l = L(tf);
      let y = apply(
        l.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
        x,
      );
      y = apply(l.conv2dTranspose({ filters: 2, kernelSize: [2, 3], strides: [1, 2], padding: 'valid' }), y);
      y = apply(l.conv2dTranspose({ filters: 3, kernelSize: 2, strides: 3, padding: 'same', useBias: false }), y);
      y = apply(l.layerNormalization({ axis: -1, epsilon: 1e-3 }), y);
      const g = apply(l.globalAveragePooling2d({}), y);
      let v = apply(l.repeatVector({ n: 4 }), apply(l.dense({ units: 5, activation: 'tanh' }), g));
      v = apply(l.layerNormalization({ axis: [1, 2], center: false }), v);
      return [apply(l.flatten(), v), apply(l.flatten(), y)];
    },
  },
  {
    name: 'LSTM (hard_sigmoid and sigmoid gates, sequences and last state) and GRU (reset_after false)',
    shape: [2, 5, 3],
    build: (tf, x) => {
      const l = L(tf);
      const seq = apply(l.lstm({ units: 4, returnSequences: true }), x);
      const g = apply(l.gru({ units: 3, returnSequences: true, activation: 'relu' }), seq);
      const last = apply(l.lstm({ units: 2, recurrentActivation: 'sigmoid' }), g);
      return [apply(l.flatten(), g), last, apply(l.gru({ units: 2, recurrentActivation: 'sigmoid' }), x)];
    },
  },
];

describe('layer table against TF.js (models serialised by TF.js in Keras format)', () => {
  for (const z of ZOO) {
    it(z.name, async () => {
      const tf = await tfjs();
      const input = tf.input({ shape: z.shape.slice(1), name: 'x' });
      const out = z.build(tf, input);
      const model = tf.model({ inputs: input, outputs: out });
      const r = rng(z.name.length);
      const layers = randomizeWeights(tf, model, r, 0.8);
      const config = model.toJSON(undefined, false) as unknown as { class_name: string };
      const n = z.shape.reduce((a, b) => a * b, 1);
      const x = z.ints ? Float32Array.from({ length: n }, () => Math.floor(r() * z.ints!)) : randomArray(n, r, -2, 2);
      const ys = model.predict(tf.tensor(x, z.shape));
      const ref = await Promise.all(
        (Array.isArray(ys) ? ys : [ys]).map(async (y) => ({ data: (await y.data()) as Float32Array, shape: y.shape })),
      );

      const dir = tmp();
      await writeKerasH5(join(dir, 'm.h5'), config, layers);
      for (const inputLayout of z.image ? (['nhwc', 'nchw'] as const) : ([undefined] as const)) {
        const res = await convertChecked({
          h5: join(dir, 'm.h5'),
          out: join(dir, `m-${inputLayout}.onnx`),
          inputLayout,
        });
        let feed = x;
        let shape = z.shape;
        const keras =
          res.sidecar.source.model_class && z.shape.length === 4 && z.name.startsWith('channels_first')
            ? 'NCHW'
            : 'NHWC';
        if (inputLayout === 'nchw' && keras === 'NHWC') {
          feed = toNchw(x, z.shape);
          shape = [z.shape[0], z.shape[3], z.shape[1], z.shape[2]];
        } else if (inputLayout === 'nhwc' && keras === 'NCHW') {
          const [b, c, h, w] = z.shape;
          feed = new Float32Array(x.length);
          for (let i = 0; i < b; i++)
            for (let k = 0; k < c; k++)
              for (let yy = 0; yy < h; yy++)
                for (let xx = 0; xx < w; xx++)
                  feed[((i * h + yy) * w + xx) * c + k] = x[((i * c + k) * h + yy) * w + xx];
          shape = [b, h, w, c];
        }
        const got = await runOnnx(res.onnxPath, { [res.sidecar.input.name]: { data: feed, shape } });
        expect(res.sidecar.outputs).toHaveLength(ref.length);
        res.sidecar.outputs.forEach((o, i) => {
          expect(got[o.name].dims).toEqual(ref[i].shape);
          const { maxAbs, scale } = compare(got[o.name].data, ref[i].data);
          expect(scale).toBeGreaterThan(0);
          expect(maxAbs, `${o.name} (${inputLayout})`).toBeLessThanOrEqual(1e-4 * scale);
        });
      }
    });
  }
});

describe('BatchNormalization on axis 1 (channels_first), standalone and folded into the convolution', () => {
  it('matches γ(x − μ)/√(σ² + ε) + β per channel computed here', async () => {
    const tf = await tfjs();
    const r = rng(5);
    const input = tf.input({ shape: [3, 6, 5], name: 'x' });
    const conv = tf.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      dataFormat: 'channelsFirst',
      name: 'conv',
    });
    const c = conv.apply(input) as SymbolicTensor;
    const bnA = tf.layers.batchNormalization({ axis: 1, name: 'bn_in', epsilon: 1e-3 });
    const bnB = tf.layers.batchNormalization({ axis: 1, name: 'bn_conv', epsilon: 1e-3 });
    const model = tf.model({
      inputs: input,
      outputs: [bnA.apply(input) as SymbolicTensor, bnB.apply(c) as SymbolicTensor],
    });
    const convOnly = tf.model({ inputs: input, outputs: c });
    const layers = randomizeWeights(tf, model, r, 0.8);
    const params = Object.fromEntries(layers.flatMap((l) => l.weights.map((w) => [w.name, w.data])));
    const dir = tmp();
    await writeKerasH5(join(dir, 'bn.h5'), model.toJSON(undefined, false), layers);
    const res = await convertChecked({ h5: join(dir, 'bn.h5'), out: join(dir, 'bn.onnx') });
    expect(res.foldedBatchNorms).toEqual(['bn_conv']);
    const x = randomArray(2 * 3 * 6 * 5, r, -2, 2);
    const got = await runOnnx(res.onnxPath, { x: { data: x, shape: [2, 3, 6, 5] } });
    const convOut = (await (convOnly.predict(tf.tensor(x, [2, 3, 6, 5])) as tfTypes.Tensor).data()) as Float32Array;
    const bnRef = (v: Float32Array, layer: string, ch: number, hw: number) => {
      const p = (k: string) => params[`${layer}/${k}:0`];
      return v.map((val, i) => {
        const k = Math.floor(i / hw) % ch;
        return (p('gamma')[k] * (val - p('moving_mean')[k])) / Math.sqrt(p('moving_variance')[k] + 1e-3) + p('beta')[k];
      });
    };
    const a = compare(got.bn_in.data, bnRef(x, 'bn_in', 3, 30));
    expect(a.maxAbs).toBeLessThanOrEqual(1e-5 * a.scale);
    const b = compare(got.bn_conv.data, bnRef(convOut, 'bn_conv', 4, 30));
    expect(b.maxAbs).toBeLessThanOrEqual(1e-5 * b.scale);
  });
});

describe('UpSampling2D(interpolation="bilinear")', () => {
  it("matches tf.image.resize's half-pixel bilinear (tf.keras >= 2.3, Keras 3), NHWC and NCHW", async () => {
    const tf = await tfjs();
    const input = tf.input({ shape: [3, 4, 2], name: 'x' });
    const up = tf.layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear', name: 'up' });
    const model = tf.model({ inputs: input, outputs: up.apply(input) as SymbolicTensor });
    const config = model.toJSON(undefined, false) as unknown as { class_name: string };
    const dir = tmp();
    await writeKerasH5(join(dir, 'm.h5'), config, [
      { name: 'x', weights: [] },
      { name: 'up', weights: [] },
    ]);
    const x = randomArray(2 * 3 * 4 * 2, rng(8), -2, 2);
    // TF.js's own UpSampling2D uses the old align-corners-free, non-half-pixel resize of Keras 2.2; TF 2 resizes with
    // half-pixel centres, which tf.image.resizeBilinear(..., halfPixelCenters = true) computes.
    const ref = tf.image.resizeBilinear(tf.tensor4d(x, [2, 3, 4, 2]), [6, 12], false, true);
    const want = (await ref.data()) as Float32Array;
    for (const inputLayout of ['nhwc', 'nchw'] as const) {
      const res = await convertChecked({ h5: join(dir, 'm.h5'), out: join(dir, `m-${inputLayout}.onnx`), inputLayout });
      const feed =
        inputLayout === 'nchw'
          ? { data: toNchw(x, [2, 3, 4, 2]), shape: [2, 2, 3, 4] }
          : { data: x, shape: [2, 3, 4, 2] };
      const got = await runOnnx(res.onnxPath, { x: feed });
      expect(got.up.dims).toEqual([2, 6, 12, 2]);
      const { maxAbs, scale } = compare(got.up.data, want);
      expect(maxAbs, inputLayout).toBeLessThanOrEqual(1e-5 * scale);
    }
  });
});

describe('GRU(reset_after=True), the tf.keras 2 default TF.js lacks', () => {
  it('matches the Keras cell computed here (bias rows: input, recurrent)', async () => {
    const r = rng(13);
    const [T, F, U] = [4, 3, 2];
    const K = randomArray(F * 3 * U, r);
    const RK = randomArray(U * 3 * U, r);
    const Bi = randomArray(2 * 3 * U, r);
    const dir = tmp();
    await writeOneLayerH5(
      join(dir, 'g.h5'),
      'g',
      [null, T, F],
      {
        className: 'GRU',
        name: 'gru',
        config: {
          units: U,
          activation: 'tanh',
          recurrent_activation: 'sigmoid',
          reset_after: true,
          use_bias: true,
          return_sequences: true,
        },
      },
      [
        { name: 'gru/gru_cell/kernel:0', shape: [F, 3 * U], data: K },
        { name: 'gru/gru_cell/recurrent_kernel:0', shape: [U, 3 * U], data: RK },
        { name: 'gru/gru_cell/bias:0', shape: [2, 3 * U], data: Bi },
      ],
    );
    const res = await convertChecked({ h5: join(dir, 'g.h5'), out: join(dir, 'g.onnx') });
    const N = 2;
    const x = randomArray(N * T * F, rng(14), -2, 2);
    const got = await runOnnx(res.onnxPath, { x: { data: x, shape: [N, T, F] } });
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const want = new Float64Array(N * T * U);
    for (let n = 0; n < N; n++) {
      let h = new Float64Array(U);
      for (let t = 0; t < T; t++) {
        const xin = (gate: number, j: number) =>
          Bi[gate * U + j] +
          Array.from({ length: F }, (_, i) => x[(n * T + t) * F + i] * K[i * 3 * U + gate * U + j]).reduce(
            (a, b) => a + b,
          );
        const rec = (gate: number, j: number) =>
          Bi[3 * U + gate * U + j] +
          Array.from({ length: U }, (_, i) => h[i] * RK[i * 3 * U + gate * U + j]).reduce((a, b) => a + b);
        const next = new Float64Array(U);
        for (let j = 0; j < U; j++) {
          const z = sig(xin(0, j) + rec(0, j));
          const rr = sig(xin(1, j) + rec(1, j));
          const hh = Math.tanh(xin(2, j) + rr * rec(2, j));
          next[j] = z * h[j] + (1 - z) * hh;
        }
        h = next;
        want.set(h, (n * T + t) * U);
      }
    }
    expect(got.gru.dims).toEqual([N, T, U]);
    const { maxAbs, scale } = compare(got.gru.data, want);
    expect(maxAbs).toBeLessThanOrEqual(1e-5 * scale);
  });
});

describe('SeparableConv1D (TF.js has none)', () => {
  it("equals TF.js's SeparableConv2D on a height-1 image with the same weights", async () => {
    const tf = await tfjs();
    const r = rng(31);
    const [N, W, C, M, F, K] = [2, 9, 3, 2, 4, 3];
    const dw = randomArray(K * C * M, r);
    const pw = randomArray(C * M * F, r);
    const bias = randomArray(F, r);
    const x = randomArray(N * W * C, rng(32), -2, 2);
    for (const [padding, stride] of [
      ['same', 2],
      ['valid', 1],
    ] as const) {
      const dir = tmp();
      await writeOneLayerH5(
        join(dir, 's.h5'),
        's1',
        [null, W, C],
        {
          className: 'SeparableConv1D',
          name: 'sep',
          config: { filters: F, kernel_size: [K], strides: [stride], padding, depth_multiplier: M },
        },
        [
          { name: 'sep/depthwise_kernel:0', shape: [K, C, M], data: dw },
          { name: 'sep/pointwise_kernel:0', shape: [1, C * M, F], data: pw },
          { name: 'sep/bias:0', shape: [F], data: bias },
        ],
      );
      const res = await convertChecked({ h5: join(dir, 's.h5'), out: join(dir, 's.onnx') });
      const got = await runOnnx(res.onnxPath, { x: { data: x, shape: [N, W, C] } });
      const layer = tf.layers.separableConv2d({
        filters: F,
        kernelSize: [1, K],
        strides: [1, stride],
        padding,
        depthMultiplier: M,
      });
      layer.apply(tf.tensor4d(x, [N, 1, W, C])); // builds the layer's weights
      layer.setWeights([tf.tensor4d(dw, [1, K, C, M]), tf.tensor4d(pw, [1, 1, C * M, F]), tf.tensor1d(bias)]);
      const want = layer.apply(tf.tensor4d(x, [N, 1, W, C])) as tfTypes.Tensor;
      expect(got.sep.dims).toEqual([N, want.shape[2], F]);
      const { maxAbs, scale } = compare(got.sep.data, (await want.data()) as Float32Array);
      expect(maxAbs, padding).toBeLessThanOrEqual(1e-5 * scale);
    }
  });
});

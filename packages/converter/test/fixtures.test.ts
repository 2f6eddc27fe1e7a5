import { existsSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import h5wasm from 'h5wasm/node';
import { SidecarError, validateImageSidecar } from '@semembed/model';
import { convertKeras, readKerasH5 } from '../src/index.js';
import { formatExpr } from '../src/lambda/expr.js';
import { readLambdaConfig } from '../src/lambda/index.js';
import {
  checkOnnx,
  compare,
  fx,
  hasOnnxChecker,
  randomArray,
  rng,
  runOnnx,
  tfjsModel,
  tfjsPredict,
  tmp,
  toNchw,
} from './helpers.js';

interface Case {
  file: string;
  config?: string;
  /** Concrete input shape (batch first) for the random inputs. */
  shape: number[];
  /** Inputs are integer ids in [0, ints) (Embedding). */
  ints?: number;
  image?: boolean;
}

// Every real fixture that holds a convertible model (see test/fixtures/keras-h5/MANIFEST.md).
const CASES: Case[] = [
  { file: 'dl4j__cnn_batch_norm.h5', shape: [3, 10, 10, 3], image: true },
  { file: 'dl4j__simpleconv2d.hdf5', shape: [3, 1, 28, 28], image: true },
  { file: 'dl4j__12net.h5', shape: [2, 17, 23, 3], image: true },
  { file: 'dl4j__dcgan_discriminator.h5', shape: [3, 28, 28, 1], image: true },
  { file: 'dl4j__tfkeras_issue_9349.hdf5', shape: [4, 6], ints: 5 },
  { file: 'hls4ml__selu_no_stream/selu.h5', shape: [3, 5, 5, 1], image: true },
  {
    file: 'hls4ml__selu_no_stream/selu_weights.h5',
    config: 'hls4ml__selu_no_stream/selu.json',
    shape: [3, 5, 5, 1],
    image: true,
  },
  {
    file: 'dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_weights.h5',
    config: 'dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_config.json',
    shape: [5, 784],
  },
];

function inputsFor(c: Case, seed: number): Float32Array {
  const r = rng(seed);
  const n = c.shape.reduce((a, b) => a * b, 1);
  return c.ints ? Float32Array.from({ length: n }, () => Math.floor(r() * c.ints!)) : randomArray(n, r, -2, 2);
}

async function reference(c: Case, x: Float32Array): Promise<{ data: Float32Array; shape: number[] }[]> {
  const h5 = await readKerasH5(fx(c.file));
  const config = c.config ? JSON.parse(readFileSync(fx(c.config), 'utf8')) : h5.modelConfig;
  const m = await tfjsModel(config, h5.weights);
  return tfjsPredict(m, [{ data: x, shape: c.shape }]);
}

const checker = hasOnnxChecker();

describe('real Keras fixtures: ONNX Runtime matches TensorFlow.js', () => {
  for (const c of CASES) {
    it(`${c.file}${c.config ? ' + ' + c.config : ''}`, async () => {
      const dir = tmp();
      const out = join(dir, 'model.onnx');
      const res = await convertKeras({ h5: fx(c.file), out, config: c.config ? fx(c.config) : undefined });
      if (checker) checkOnnx(out);
      const x = inputsFor(c, 7);
      const ref = await reference(c, x);
      const got = await runOnnx(out, { [res.sidecar.input.name]: { data: x, shape: c.shape } });
      const outs = res.sidecar.outputs;
      expect(outs.length).toBe(ref.length);
      outs.forEach((o, i) => {
        expect(got[o.name].dims).toEqual(ref[i].shape);
        const { maxAbs, scale } = compare(got[o.name].data, ref[i].data);
        expect(scale).toBeGreaterThan(0);
        expect(maxAbs).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-3));
      });

      if (c.image) {
        // The same model with NCHW input: no Transpose may touch the input, outputs unchanged.
        const out2 = join(dir, 'nchw.onnx');
        const res2 = await convertKeras({
          h5: fx(c.file),
          out: out2,
          config: c.config ? fx(c.config) : undefined,
          inputLayout: 'nchw',
          opset: 13,
        });
        if (checker) checkOnnx(out2);
        expect(res2.sidecar.input.layout).toBe('NCHW');
        const keras = res.sidecar.input.layout;
        const x2 = keras === 'NHWC' ? toNchw(x, c.shape) : x;
        const shape2 = keras === 'NHWC' ? [c.shape[0], c.shape[3], c.shape[1], c.shape[2]] : c.shape;
        const got2 = await runOnnx(out2, { [res2.sidecar.input.name]: { data: x2, shape: shape2 } });
        outs.forEach((o, i) => {
          const { maxAbs, scale } = compare(got2[o.name].data, ref[i].data);
          expect(maxAbs).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-3));
        });
        const model = readFileSync(out2);
        expect(inputFeedsTranspose(model, res2.sidecar.input.name)).toBe(false);
      }
    });
  }

  it('fp16 weights: half the size, outputs within half precision', async () => {
    const c = CASES.find((k) => k.file === 'dl4j__dcgan_discriminator.h5')!;
    const dir = tmp();
    const a = await convertKeras({ h5: fx(c.file), out: join(dir, 'a.onnx') });
    const b = await convertKeras({ h5: fx(c.file), out: join(dir, 'b.onnx'), fp16: true });
    if (checker) checkOnnx(b.onnxPath);
    const sa = readFileSync(a.onnxPath).length;
    const sb = readFileSync(b.onnxPath).length;
    expect(sb).toBeLessThan(sa * 0.55);
    const x = inputsFor(c, 3);
    const ref = await reference(c, x);
    const got = await runOnnx(b.onnxPath, { [b.sidecar.input.name]: { data: x, shape: c.shape } });
    const { maxAbs } = compare(got[b.sidecar.outputs[0].name].data, ref[0].data);
    expect(maxAbs).toBeLessThan(2e-2);
    expect(b.sidecar.source.fp16_weights).toBe(true);
  });
});

/** Whether the graph input feeds a Transpose node (scans the protobuf for node input/op pairs). */
function inputFeedsTranspose(bytes: Uint8Array, input: string): boolean {
  // Decode just enough protobuf: ModelProto.graph (7) -> GraphProto.node (1) -> NodeProto input (1) / op_type (4).
  const rd = (buf: Uint8Array, pos: number): [number, number] => {
    let v = 0;
    let s = 0;
    for (;;) {
      const b = buf[pos++];
      v += (b & 0x7f) * 2 ** s;
      s += 7;
      if (b < 0x80) return [v, pos];
    }
  };
  const fields = (buf: Uint8Array): [number, Uint8Array | number][] => {
    const out: [number, Uint8Array | number][] = [];
    let p = 0;
    while (p < buf.length) {
      let key: number;
      [key, p] = rd(buf, p);
      const wire = key & 7;
      const f = Math.floor(key / 8);
      if (wire === 0) {
        let v: number;
        [v, p] = rd(buf, p);
        out.push([f, v]);
      } else if (wire === 2) {
        let len: number;
        [len, p] = rd(buf, p);
        out.push([f, buf.subarray(p, p + len)]);
        p += len;
      } else if (wire === 5) p += 4;
      else if (wire === 1) p += 8;
      else throw new Error('wire type ' + wire);
    }
    return out;
  };
  const dec = new TextDecoder();
  const graph = fields(bytes).find(([f]) => f === 7)![1] as Uint8Array;
  for (const [f, node] of fields(graph)) {
    if (f !== 1) continue;
    const nf = fields(node as Uint8Array);
    const inputs = nf.filter(([k]) => k === 1).map(([, v]) => dec.decode(v as Uint8Array));
    const op = dec.decode(nf.find(([k]) => k === 4)![1] as Uint8Array);
    if (op === 'Transpose' && inputs.includes(input)) return true;
  }
  return false;
}

describe('fixtures with outputs computed by Keras itself', () => {
  it('hls4ml selu (full model and save_weights + model.json) matches Keras to 1e-5', async () => {
    const x = Float32Array.from(
      readFileSync(fx('hls4ml__selu_no_stream/tb_input_features.dat'), 'utf8').trim().split(/\s+/).map(Number),
    );
    const y = Float32Array.from(
      readFileSync(fx('hls4ml__selu_no_stream/tb_output_predictions.dat'), 'utf8').trim().split(/\s+/).map(Number),
    );
    // Two samples, one per line.
    expect(x.length).toBe(50);
    expect(y.length).toBe(18);
    for (const [h5, config] of [
      ['selu.h5', undefined],
      ['selu_weights.h5', 'selu.json'],
    ] as const) {
      const out = join(tmp(), 'selu.onnx');
      const r = await convertKeras({
        h5: fx(`hls4ml__selu_no_stream/${h5}`),
        out,
        config: config && fx(`hls4ml__selu_no_stream/${config}`),
      });
      const got = await runOnnx(out, { [r.sidecar.input.name]: { data: x, shape: [2, 5, 5, 1] } });
      const o = got[r.sidecar.outputs[0].name];
      expect(o.dims).toEqual([2, 3, 3, 1]);
      const { maxAbs } = compare(o.data, y);
      expect(maxAbs).toBeLessThanOrEqual(1e-5);
    }
  });

  it('dl4j mnist_mlp (save_weights + old-style Sequential config) matches the Keras predictions to 1e-5', async () => {
    await h5wasm.ready;
    const f = new h5wasm.File(fx('dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_inputs_and_outputs.h5'), 'r');
    const inp = f.get('inputs/dense_1_input') as InstanceType<typeof h5wasm.Dataset>;
    const pred = f.get('predictions/dense_3') as InstanceType<typeof h5wasm.Dataset>;
    const x = Float32Array.from(inp.value as Float32Array);
    const xShape = inp.shape!.map(Number);
    const y = Float32Array.from(pred.value as Float32Array);
    f.close();
    expect(xShape).toEqual([100, 784]);
    const out = join(tmp(), 'mlp.onnx');
    const r = await convertKeras({
      h5: fx('dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_weights.h5'),
      config: fx('dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_config.json'),
      out,
    });
    expect(r.sidecar.outputs[0]).toMatchObject({ name: 'dense_3', kind: 'probabilities', dim: 10 });
    const got = await runOnnx(out, { [r.sidecar.input.name]: { data: x, shape: xShape } });
    const { maxAbs } = compare(got.dense_3.data, y);
    expect(maxAbs).toBeLessThanOrEqual(1e-5);
  });
});

describe('Lambda layers', () => {
  it('are read from their marshalled Python 2.7 (Keras 2.0.9) and 3.7 (tf.keras 2.2.4) bytecode, never run', async () => {
    const want: Record<string, [string, string]> = {
      lambda_3: ['2.7', '(x ** 2)'],
      lambda_4: ['2.7', '(3 * x)'],
      cat_embed_2d_genure_mean: ['3.6-3.7', 'mean(x, axis=1, keepdims=True)'],
      embed_1d_mean: ['3.6-3.7', 'mean(x, axis=1, keepdims=False)'],
      sum_of_tensors: ['3.6-3.7', 'sum(x, axis=1)'],
      square_of_tensors: ['3.6-3.7', 'square(x)'],
      lambda_1: ['3.6-3.7', '(x * 0.5)'],
    };
    const seen: string[] = [];
    for (const file of ['dl4j__lambda__model_lambda.h5', 'dl4j__deepfm.h5']) {
      const h5 = await readKerasH5(fx(file));
      for (const l of (
        h5.modelConfig as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } }
      ).config.layers) {
        if (l.class_name !== 'Lambda') continue;
        const r = readLambdaConfig(l.config);
        const name = String(l.config.name);
        seen.push(name);
        expect([r.version, r.expr && formatExpr(r.expr)], name).toEqual(want[name]);
      }
    }
    expect(seen.sort()).toEqual(Object.keys(want).sort());
    // deepfm (4 inputs, Embedding, shared Lambda called three times) now converts and passes the checker.
    const out = join(tmp(), 'deepfm.onnx');
    await convertKeras({ h5: fx('dl4j__deepfm.h5'), out });
    if (checker) checkOnnx(out);
  });

  it.each([
    ['--lambda', { lambda_1: 'square', lambda_2: 'scale:3' }],
    ['their code', {}],
  ])(
    'mapped by %s (x**2 and 3*x in dl4j sequential_lambda), they match an independent tf.js computation',
    async (_, lambdas) => {
      const out = join(tmp(), 'lam.onnx');
      const r = await convertKeras({ h5: fx('dl4j__lambda__sequential_lambda.h5'), out, lambdas });
      if (checker) checkOnnx(out);
      const h5 = await readKerasH5(fx('dl4j__lambda__sequential_lambda.h5'));
      const w = (l: string, k: string) => h5.weights.get(l)!.find((x) => x.name.endsWith(`${k}:0`))!;
      const { tfjs } = await import('./helpers.js');
      const tf = await tfjs();
      const x = randomArray(4 * 100, rng(11));
      const t = (a: { data: Float32Array; shape: number[] }) => tf.tensor(a.data, a.shape);
      const h = tf.relu(tf.add(tf.matMul(tf.tensor(x, [4, 100]), t(w('dense_1', 'kernel'))), t(w('dense_1', 'bias'))));
      const ref = tf.add(tf.matMul(tf.mul(tf.square(h), 3), t(w('dense_2', 'kernel'))), t(w('dense_2', 'bias')));
      const got = await runOnnx(out, { [r.sidecar.input.name]: { data: x, shape: [4, 100] } });
      const { maxAbs, scale } = compare(got.dense_2.data, (await ref.data()) as Float32Array);
      expect(maxAbs).toBeLessThanOrEqual(1e-4 * scale);
    },
  );
});

describe('bad input gives one clear message and no output file', () => {
  const fails = async (opts: Parameters<typeof convertKeras>[0], re: RegExp) => {
    const p = convertKeras(opts);
    await expect(p).rejects.toMatchObject({ userFacing: true });
    await expect(p).rejects.toThrow(re);
    expect(existsSync(opts.out)).toBe(false);
  };

  it('Keras 1 file', async () => {
    const dir = tmp();
    await fails(
      { h5: fx('dl4j__keras1_cnn_tf_model.h5'), out: join(dir, 'm.onnx') },
      /dl4j__keras1_cnn_tf_model\.h5: written by Keras 1\.1\.2; Keras 1 files are not supported/,
    );
  });

  it('model saved before it was built', async () => {
    const dir = tmp();
    await fails(
      { h5: fx('kerasnet__unbuilt_model.h5'), out: join(dir, 'm.onnx') },
      /kerasnet__unbuilt_model\.h5: input 'flatten_input' has no input shape: the model was saved before it was built/,
    );
  });

  it('unsupported layer class names the layer', async () => {
    const dir = tmp();
    await fails(
      { h5: fx('dl4j__keras-attention.h5'), out: join(dir, 'm.onnx') },
      /layer 'attention' \(Attention\): layer class Attention is not supported/,
    );
  });

  it('not HDF5, truncated, missing file', async () => {
    const dir = tmp();
    const bad = join(dir, 'text.h5');
    writeFileSync(bad, 'this is not an hdf5 file at all');
    await fails({ h5: bad, out: join(dir, 'm.onnx') }, /text\.h5: not an HDF5 file/);
    const trunc = join(dir, 'trunc.h5');
    writeFileSync(trunc, readFileSync(fx('dl4j__dcgan_discriminator.h5')).subarray(0, 200_000));
    await fails({ h5: trunc, out: join(dir, 'm.onnx') }, /trunc\.h5: truncated HDF5 file \(200000 bytes/);
    await fails({ h5: join(dir, 'nope.h5'), out: join(dir, 'm.onnx') }, /nope\.h5: no such file/);
  });

  it('weights-only file without architecture', async () => {
    const dir = tmp();
    await fails(
      { h5: fx('dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_weights.h5'), out: join(dir, 'm.onnx') },
      /weights-only file .*--architecture NAME or --config model\.json/,
    );
  });

  it('weight with the wrong shape / missing weight names file and layer', async () => {
    const dir = tmp();
    const cfg = JSON.parse(readFileSync(fx('dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_config.json'), 'utf8'));
    const layers = Array.isArray(cfg.config) ? cfg.config : cfg.config.layers;
    const d2 = layers.find((l: { config: { name: string } }) => l.config.name === 'dense_2');
    d2.config.units = 256;
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify(cfg));
    await fails(
      { h5: fx('dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_weights.h5'), config: wrong, out: join(dir, 'm.onnx') },
      /mnist_mlp_tf_keras_2_weights\.h5: layer 'dense_2' \(Dense\): weight 'dense_2\/kernel:0' has shape \[512, 512\], expected \[512, 256\]/,
    );
    d2.config.units = 512;
    d2.config.name = 'dense_x';
    writeFileSync(wrong, JSON.stringify(cfg));
    await fails(
      { h5: fx('dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_weights.h5'), config: wrong, out: join(dir, 'm.onnx') },
      /layer 'dense_x' \(Dense\): weight 'kernel' is missing/,
    );
  });

  it('bad options', async () => {
    const dir = tmp();
    await fails(
      { h5: fx('dl4j__cnn_batch_norm.h5'), out: join(dir, 'm.onnx'), opset: 11 },
      /--opset 11: choose an opset from 13/,
    );
    await fails(
      { h5: fx('dl4j__cnn_batch_norm.h5'), out: join(dir, 'no', 'dir', 'm.onnx') },
      /cannot write .*m\.onnx: its folder does not exist/,
    );
    const m = fx('dl4j__mnist_mlp_tf_keras_2');
    await fails(
      {
        h5: join(m, 'mnist_mlp_tf_keras_2_weights.h5'),
        config: join(m, 'mnist_mlp_tf_keras_2_config.json'),
        out: join(dir, 'm.onnx'),
        classes: [0, 1, 2].map((i) => ({ index: i, id: i })),
      },
      /output 'dense_3' gives 10 class probabilities, but 3 classes were given/,
    );
  });

  it('a failing conversion leaves an existing output untouched', async () => {
    const dir = tmp();
    const out = join(dir, 'm.onnx');
    copyFileSync(fx('dl4j__cnn_batch_norm.h5'), out);
    const before = readFileSync(out);
    await expect(convertKeras({ h5: fx('dl4j__keras-attention.h5'), out })).rejects.toThrow(/Attention/);
    expect(readFileSync(out).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['m.onnx']);
  });
});

describe('sidecar', () => {
  it('describes input, preprocessing and outputs', async () => {
    const dir = tmp();
    const out = join(dir, 'bn.onnx');
    const r = await convertKeras({ h5: fx('dl4j__cnn_batch_norm.h5'), out });
    expect(r.sidecarPath).toBe(join(dir, 'bn.json'));
    const s = JSON.parse(readFileSync(r.sidecarPath, 'utf8'));
    expect(s).toEqual(r.sidecar);
    expect(s.format).toBe('semembed-onnx-sidecar/1');
    expect(s.model).toBe('bn.onnx');
    expect(s.input).toEqual({
      name: 'conv2d_1_input',
      layout: 'NHWC',
      shape: [null, 10, 10, 3],
      dtype: 'float32',
      channels: 3,
    });
    expect(s.preprocessing).toMatchObject({ resize: [10, 10], colorSpace: 'rgb' });
    expect(s.outputs).toEqual([{ name: 'dense_1', kind: 'logits', dim: 1 }]);
    expect(s.source).toMatchObject({
      file: 'dl4j__cnn_batch_norm.h5',
      keras_version: '2.1.3',
      model_class: 'Sequential',
      opset: 17,
    });
    expect(r.foldedBatchNorms).toEqual(['batch_normalization_1']);
    // The runtimes' contract (@semembed/model): version 2, and what the converter wrote validates as an image model.
    expect(s.version).toBe(2);
    expect(validateImageSidecar(s, r.sidecarPath).preprocessing.mean).toEqual([0, 0, 0]);
  });

  it('a sidecar the runtimes would refuse is one line naming the field, and nothing is written', async () => {
    const dir = tmp();
    const p = convertKeras({
      h5: fx('dl4j__cnn_batch_norm.h5'),
      out: join(dir, 'm.onnx'),
      preprocessing: { mean: [1, 2] },
    });
    await expect(p).rejects.toThrow(/m\.json: preprocessing\.mean: must have 1 or 3 entries \(got \[1,2\]\)$/);
    await expect(p).rejects.toBeInstanceOf(SidecarError);
    expect(readdirSync(dir)).toEqual([]);
  });
});

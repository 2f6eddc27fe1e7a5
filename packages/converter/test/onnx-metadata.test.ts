import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { readKerasH5 as readH5File, writeKerasH5 } from '@semembed/formats/keras-h5';
import { getMetadata, readModel } from '@semembed/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertKeras } from '../src/index.js';
import { checkOnnx, fx, tmp } from './helpers.js';

// Issue #13: the .onnx file alone says how to feed it and what comes out; ir_version follows the opset.
const classes = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'].map(
  (name, index) => ({ index, id: index, name, path: ['thing', name] }),
);

/** metadata_props as the onnx Python package reads them (an independent reader). */
function pythonMetadata(path: string): Record<string, string> {
  return JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        'import onnx,sys,json; m=onnx.load(sys.argv[1]); print(json.dumps({p.key: p.value for p in m.metadata_props}))',
        path,
      ],
      { encoding: 'utf8' },
    ),
  );
}

describe('converted ONNX files describe themselves', () => {
  it('carry input layout, size, colour space, mean/std, outputs, labels and the class-embedding facts', async () => {
    const dir = tmp();
    const out = join(dir, 'm.onnx');
    const res = await convertKeras({
      h5: fx('dl4j__cnn_batch_norm.h5'),
      out,
      opset: 17,
      inputLayout: 'nchw',
      classes,
      preprocessing: { mean: [125.3, 123, 113.9], std: [63, 62.1, 66.7] },
      sourceInfo: { class_embedding_method: 'unitsphere', taxonomy_sha256: 'ab'.repeat(32), dataset: 'Fashion-MNIST' },
    });
    checkOnnx(out);
    const meta = pythonMetadata(out);
    const s = res.sidecar;
    expect(meta).toEqual({
      'Image.BitmapPixelFormat': 'Rgb8',
      'Image.ColorSpaceGamma': 'SRGB',
      'semembed.input.name': s.input.name,
      'semembed.input.layout': 'NCHW',
      'semembed.input.shape': JSON.stringify(s.input.shape),
      'semembed.input.size': '[10,10]',
      'semembed.input.color_space': 'rgb',
      'semembed.input.mean': '[125.3,123,113.9]',
      'semembed.input.std': '[63,62.1,66.7]',
      'semembed.input.normalization': 'input[c] = (pixel[c] - mean[c]) / std[c], 8-bit pixels 0-255, resized to size',
      'semembed.outputs': JSON.stringify(s.outputs.map((o) => ({ name: o.name, kind: o.kind, dim: o.dim ?? null }))),
      'semembed.class_labels': JSON.stringify(classes.map((c) => c.name)),
      'semembed.classes': JSON.stringify(classes),
      'semembed.class_embedding.method': 'unitsphere',
      'semembed.taxonomy.sha256': 'ab'.repeat(32),
      'semembed.dataset': 'Fashion-MNIST',
    });
    const model = readModel(new Uint8Array(readFileSync(out)));
    expect(getMetadata(model)).toEqual(meta);
    const input = model.graph!.input[0].type!;
    expect(input.denotation).toBe('IMAGE');
    expect(input.tensorType!.shape!.dim.map((d) => d.denotation)).toEqual([
      'DATA_BATCH',
      'DATA_CHANNEL',
      'DATA_FEATURE',
      'DATA_FEATURE',
    ]);
    expect(model.producerName).toBe('semembed');
    expect(model.producerVersion).toBe('0.1.0');
    expect(model.docString).toBe(
      'Converted from dl4j__cnn_batch_norm.h5 (written by Keras 2.1.3) by @semembed/converter 0.1.0',
    );
  });

  it.each([
    [13, 7],
    [14, 7],
    [15, 8],
    [17, 8],
    [18, 8],
    [19, 9],
    [20, 9],
    [21, 10],
  ])('opset %i gets ir_version %i and runs in onnxruntime', async (opset, ir) => {
    const out = join(tmp(), 'm.onnx');
    await convertKeras({ h5: fx('dl4j__tfkeras_issue_9349.hdf5'), out, opset });
    const bytes = new Uint8Array(readFileSync(out));
    expect(readModel(bytes).irVersion).toBe(ir);
    // The Debian onnx 1.12 checker knows IR <= 8 and opset <= 17; onnxruntime checks the newer ones.
    if (opset <= 17) checkOnnx(out);
    const session = await ort.InferenceSession.create(bytes);
    const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(12), [2, 6]) });
    expect(r[session.outputNames[0]].dims[0]).toBe(2);
    await session.release();
  });

  it('say when our trainer made the model rather than Keras', async () => {
    const dir = tmp();
    const keras = await readH5File(fx('dl4j__cnn_batch_norm.h5'));
    const h5 = join(dir, 'trained.h5');
    await writeKerasH5(h5, { modelConfig: keras.modelConfig, layers: keras.layers });
    const out = join(dir, 'trained.onnx');
    await convertKeras({ h5, out });
    const model = readModel(new Uint8Array(readFileSync(out)));
    expect(model.docString).toBe(
      'Trained by semembed (Keras-2 layout), converted from trained.h5 by @semembed/converter 0.1.0',
    );
  });
});

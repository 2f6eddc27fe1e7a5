import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { convertKeras } from '@semembed/converter';
import { FASHION_MNIST_CLASSES } from '@semembed/datasets';
import { createServer, loadModel, type Model, type SemembedServer } from '../src/index.js';
import { writeFashionCnnH5 } from './fashion-model.js';
import { fixture, maxAbsDiff } from './helpers.js';

// The real pipeline: the reference's Fashion-MNIST architecture in TF.js (random weights and BN statistics),
// saved as a Keras-2 .h5 by the trainer, converted by the converter, served by this package.
let dir: string;
let model: Model;
let tfModel: tf.LayersModel;
let server: SemembedServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rn-converted-'));
  const h5 = join(dir, 'fashion.h5');
  tfModel = await writeFashionCnnH5(h5, 3);
  const classes = FASHION_MNIST_CLASSES.map((name, index) => ({ index, id: index, name, path: ['item', name] }));
  const classEmbedding = Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 1 : 0)));
  await convertKeras({
    h5,
    out: join(dir, 'model.onnx'),
    preprocessing: { mean: [72.94], std: [90.02], colorSpace: 'gray' },
    classes,
    classEmbedding,
  });
  model = await loadModel(dir, { ep: 'cpu' });
  server = await createServer({ models: [model], port: 0, logger: 'silent' });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await model?.release();
  tfModel?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a model converted by @semembed/converter', () => {
  it('loads with its sidecar and gives the same outputs as TF.js', async () => {
    expect(model.name).toBe(dir.split('/').pop());
    expect(model.embeddingOutput?.name).toBeDefined();
    expect(model.probOutput).toBeDefined();
    const x = tf.randomNormal([5, 28, 28, 1], 0, 1, 'float32', 11);
    const [emb, prob] = tfModel.predict(x) as tf.Tensor[];
    const out = await model.run(x.dataSync() as Float32Array, 5);
    expect(maxAbsDiff(out[model.embeddingOutput!.name].data, emb.dataSync())).toBeLessThan(1e-5);
    expect(maxAbsDiff(out[model.probOutput!.name].data, prob.dataSync())).toBeLessThan(1e-5);
    tf.dispose([x, emb, prob]);
  });

  it('classifies a PNG over HTTP with the sidecar classes, same as TF.js on the hand-preprocessed image', async () => {
    const png = readFileSync(fixture('gray28.png'));
    const url = await server.listen();
    const r = (await (
      await fetch(`${url}/v1/classify?top_k=10`, {
        method: 'POST',
        body: png,
        headers: { 'content-type': 'image/png' },
      })
    ).json()) as {
      results: {
        classes: { index: number; name: string; path: string[]; probability: number }[];
        nearest: { index: number; similarity: number }[];
      }[];
    };
    // Independent path: decode the PNG pixels ourselves through TF.js (PNG decoding is exact), normalise, predict.
    const { data, info } = await (await import('sharp')).default(png).raw().toBuffer({ resolveWithObject: true });
    const c = info.channels; // sharp may expand gray to RGB (R = G = B)
    const x = tf.tensor(
      Float32Array.from({ length: 784 }, (_, i) => (data[i * c] - 72.94) / 90.02),
      [1, 28, 28, 1],
    );
    const [emb, prob] = tfModel.predict(x) as tf.Tensor[];
    const p = prob.dataSync();
    const res = r.results[0];
    for (const c of res.classes) expect(c.probability).toBeCloseTo(p[c.index], 5);
    expect(res.classes[0].path).toEqual(['item', res.classes[0].name]);
    // Identity class embedding: nearest-class similarity = the embedding's own coordinates.
    const e = emb.dataSync();
    for (const c of res.nearest) expect(c.similarity).toBeCloseTo(e[c.index], 5);
    tf.dispose([x, emb, prob]);
  });
});

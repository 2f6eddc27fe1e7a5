import { describe, it, expect, beforeAll } from 'vitest';
import type * as tfType from '@tensorflow/tfjs';
import { selectBackend, type Tf } from '../src/index.js';
import { shareGradients } from '../src/fit.js';

describe("BatchNormalization's moving statistics follow Keras 2.2 (unbiased batch variance)", () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await selectBackend('wasm')).tf;
  });

  it('after one training step: moving_variance = m*1 + (1-m)*var*n/(n-1), moving_mean = (1-m)*mean', async () => {
    const [N, H, W, C] = [6, 4, 4, 3];
    const model = tf.sequential({
      layers: [
        tf.layers.batchNormalization({ inputShape: [H, W, C], momentum: 0.9 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, name: 'embedding' }),
      ],
    });
    const x = Float32Array.from({ length: N * H * W * C }, (_, i) => Math.sin(i * 1.7) * (1 + (i % C)) + (i % C));
    const labels = Int32Array.from({ length: N }, (_, i) => i % 10);
    const emb = new Float32Array(100);
    for (let i = 0; i < 10; i++) emb[i * 11] = 1;
    const vars = model.trainableWeights.map((w) => w.read() as tfType.Variable);
    const r = await shareGradients(
      tf,
      {
        model,
        loss: 'inv_corr',
        clsWeight: 0,
        embedding: emb,
        embRows: 10,
        embDim: 10,
        numClasses: 10,
        train: { inputShape: [H, W, C] },
      },
      vars,
      x,
      labels,
      N,
    );
    tf.dispose(r.grads);
    const byName = (s: string) =>
      model.weights
        .find((w) => w.originalName.endsWith(s))!
        .read()
        .dataSync();
    const mv = byName('moving_variance');
    const mm = byName('moving_mean');
    const n = N * H * W;
    for (let c = 0; c < C; c++) {
      let mean = 0;
      for (let i = c; i < x.length; i += C) mean += x[i];
      mean /= n;
      let ss = 0;
      for (let i = c; i < x.length; i += C) ss += (x[i] - mean) ** 2;
      expect(mm[c]).toBeCloseTo(0.1 * mean, 5);
      expect(Math.abs(mv[c] - (0.9 + 0.1 * (ss / (n - 1)))) / mv[c]).toBeLessThan(1e-5);
      // and not tfjs's own biased update
      expect(Math.abs(mv[c] - (0.9 + 0.1 * (ss / n)))).toBeGreaterThan(1e-4);
    }
    model.dispose();
  });
});

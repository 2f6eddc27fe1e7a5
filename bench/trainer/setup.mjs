// What the training benchmarks (throughput.mjs, prof-kernels.mjs, kernel-micro.mjs, the GPU kit) share, so that they
// measure the same step: the networks' input shapes, the model built from the registry, the identity class
// embedding, inv_corr loss, SGD momentum 0.9 with clipnorm 10, BN in training mode, no augmentation.
import { buildArchitecture, modelFromKerasConfig } from '@semembed/architectures';

export const SHAPES = { simple: [32, 32, 3], 'fashion-cnn': [28, 28, 1], 'resnet-110-wfc': [32, 32, 3] };

/** The network's Keras config and its TF.js model on the current backend. */
export async function benchModel(tf, arch) {
  const cfg = buildArchitecture(arch, { inputShape: SHAPES[arch], embeddingDim: 10, numClasses: 10, loss: 'inv_corr' });
  return { cfg, model: await modelFromKerasConfig(tf, cfg) };
}

/** One-hot class embedding of 10 classes (10 x 10), as the workers and fit() take it. */
export const EMBEDDING = { embedding: Float32Array.from({ length: 100 }, (_, i) => (i % 11 === 0 ? 1 : 0)), rows: 10 };

/**
 * fit()'s options for a measured run: `trainer` is the @semembed/trainer module under test (its KerasSGD), so a
 * benchmark of an older build (--trainer DIR) builds its optimiser from that build.
 */
export function benchFitOptions(trainer, tf, model, batch, extra = {}) {
  const optimizer = new trainer.KerasSGD(tf, 0.01, { momentum: 0.9, nesterov: false, clipnorm: 10, decay: 0 });
  return {
    tf,
    model,
    loss: 'inv_corr',
    embedding: EMBEDDING.embedding,
    embRows: EMBEDDING.rows,
    embDim: 10,
    clsWeight: 0,
    numClasses: 10,
    batchSize: batch,
    valBatchSize: batch,
    optimizer,
    seed: 0,
    augment: false,
    epochs: 1,
    ...extra,
  };
}

/** A constant SGD learning rate over n steps. */
export const benchSchedule = (trainer, n) => trainer.makeSchedule('SGD', { sgdSchedule: '1:0.01,1' }, n);

/** n deterministic uniform values in [-0.5, 0.5) (an LCG of `seed`; never all zeros, which can run faster). */
export function randomFloats(n, seed = 1) {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

/** n deterministic images of `shape` (a smooth pattern, never zeros) with labels 0..9, as a training split. */
export function syntheticSplit(shape, n) {
  const size = shape[0] * shape[1] * shape[2];
  const x = Float32Array.from({ length: n * size }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  return {
    size: n,
    inputShape: shape,
    labels,
    batches: function* (o) {
      for (let b = 0; b * o.batchSize < n; b++) {
        const s = Math.min(o.batchSize, n - b * o.batchSize);
        yield {
          x: x.subarray(b * o.batchSize * size, (b * o.batchSize + s) * size),
          labels: labels.subarray(b * o.batchSize, b * o.batchSize + s),
          size: s,
        };
      }
    },
  };
}

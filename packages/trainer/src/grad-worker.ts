/**
 * Entry of a helper thread of data-parallel training (see parallel.ts): its own TensorFlow.js backend and
 * model copy; per step it loads the shared weights, computes its share's gradients and writes them back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as tfType from '@tensorflow/tfjs';
import { modelFromKerasConfig, type AnyKerasModelConfig } from '@semembed/architectures';
import { selectBackend } from './backend.js';
import { evalBatch, shareGradients } from './fit.js';
import type { EvalReply, EvalRequest, HelperSetup, StepReply, StepRequest } from './parallel.js';

interface WorkerInput {
  setup: HelperSetup;
  layout: {
    offsets: number[];
    sizes: number[];
    weights: SharedArrayBuffer;
    grads: SharedArrayBuffer;
    stats: SharedArrayBuffer;
  };
  weightCount: number;
}

const port = parentPort!;
const { setup, layout, weightCount } = workerData as WorkerInput;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function main(): Promise<void> {
  const { tf } = await selectBackend(setup.backend);
  const model = await modelFromKerasConfig(tf, setup.modelConfig as AnyKerasModelConfig);
  if (model.weights.length !== weightCount) {
    throw new Error(`the model copy has ${model.weights.length} weights, the main thread's has ${weightCount}`);
  }
  const vars = model.weights.map((w) => w.read() as tfType.Variable);
  const weights = new Float32Array(layout.weights);
  const grads = new Float32Array(layout.grads);
  const stats = new Float32Array(layout.stats);
  const o = { ...setup, model, train: { inputShape: setup.inputShape } };

  // The version of the shared weights this model holds: an evaluation loads them once, not per batch.
  let loaded: number | undefined;
  port.on('message', async (m: StepRequest | EvalRequest) => {
    try {
      if (m.version === undefined || m.version !== loaded) {
        vars.forEach((v, i) => {
          const t = tf.tensor(weights.subarray(layout.offsets[i], layout.offsets[i] + layout.sizes[i]), v.shape);
          v.assign(t);
          t.dispose();
        });
        loaded = m.version;
      }
      if (m.type === 'eval') {
        const r = await evalBatch(tf, o, setup.inputShape, m.x, m.labels, m.labels.length);
        const reply: EvalReply = { type: 'eval', ...r };
        port.postMessage(reply);
        return;
      }
      // A step changes this model's moving statistics: the next request reloads the shared ones.
      loaded = undefined;
      const mine = m.trainIdx.map((i) => vars[i]);
      const r = await shareGradients(tf, o, mine, m.x, m.labels, m.labels.length);
      let packed = 0;
      for (const v of mine) {
        const g = r.grads[v.name].dataSync() as Float32Array;
        grads.set(g, packed);
        packed += g.length;
      }
      tf.dispose(r.grads);
      vars.forEach((v, i) => {
        if (!model.weights[i].trainable) stats.set(v.dataSync() as Float32Array, layout.offsets[i]);
      });
      const reply: StepReply = { type: 'step', loss: r.value, emb: r.emb, prob: r.prob };
      port.postMessage(reply);
    } catch (err) {
      port.postMessage({ type: 'error', error: errorText(err) });
    }
  });
  port.postMessage({ type: 'ready' });
}

main().catch((err) => port.postMessage({ type: 'error', error: errorText(err) }));

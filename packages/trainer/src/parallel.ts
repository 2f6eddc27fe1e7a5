/**
 * Data-parallel training on CPU cores: the wasm backend runs single-threaded in Node (its threaded build cannot
 * start workers there), so `workers - 1` helper threads, each with its own wasm backend and a copy of the model,
 * compute the gradients of their share of every batch while the main thread computes its own share.
 *
 * Weights go to the helpers and gradients come back through SharedArrayBuffers (no copies through messages).
 * The main thread combines the gradients weighted by share size (= the gradient of the mean loss over the whole
 * batch), applies Keras's SGD once, and averages the BatchNormalization moving statistics the same way.
 * The combination order is fixed, so a seed gives the same result for a given number of workers. BatchNorm
 * normalises each share with its own statistics (as multi-GPU Keras does), so 1 and 2 workers differ slightly.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as tfType from '@tensorflow/tfjs';
import type { LossSetup } from './losses.js';
import type { ShareResult } from './fit.js';
import { loadNativeConv } from './native-conv.js';

type Tf = typeof tfType;

/** What a helper needs to rebuild the model and the loss (structured-clone safe). */
export interface HelperSetup extends LossSetup {
  backend: 'wasm' | 'cpu';
  /** The Keras model config the main thread built its model from. */
  modelConfig: unknown;
  inputShape: [number, number, number];
}

/** Message main -> helper for one step. */
export interface StepRequest {
  type: 'step';
  x: Float32Array;
  labels: Int32Array;
  /** Indices into model.weights of the variables to differentiate (in this order). */
  trainIdx: number[];
  /** publishWeights' count: the helper loads the shared weights when it differs from the last one it loaded. */
  version: number;
}

/** Message main -> helper: inference-mode loss and outputs of one evaluation batch (fit.ts's evaluate). */
export interface EvalRequest {
  type: 'eval';
  x: Float32Array;
  labels: Int32Array;
  version: number;
}

/** Message helper -> main after a step (gradients and moving statistics are in the shared buffers). */
export interface StepReply {
  type: 'step';
  loss: number;
  emb: Float32Array;
  prob?: Float32Array;
}

/** Message helper -> main after an evaluation batch (fit.ts's BatchOutputs). */
export interface EvalReply {
  type: 'eval';
  loss: number;
  emb: Float32Array;
  prob?: Float32Array;
}

type Reply = StepReply | EvalReply;

export interface SharedLayout {
  /** Offsets (in floats) of every model weight in `weights` and, for non-trainable ones, in `stats`. */
  offsets: number[];
  sizes: number[];
  weights: SharedArrayBuffer;
  /** One per helper: the gradients of trainIdx, packed in that order. */
  grads: SharedArrayBuffer[];
  /** One per helper: every weight after the helper's forward pass (the moving statistics are what differ). */
  stats: SharedArrayBuffer[];
}

/** A part of the batch: [start, end) rows. Parts are as equal as possible, the first ones one larger. */
export function batchParts(n: number, workers: number): Array<[number, number]> {
  const parts: Array<[number, number]> = [];
  const base = Math.floor(n / workers);
  let extra = n % workers;
  let start = 0;
  for (let i = 0; i < workers; i++) {
    const len = base + (extra > 0 ? 1 : 0);
    if (extra > 0) extra--;
    parts.push([start, start + len]);
    start += len;
  }
  return parts;
}

/**
 * Usable worker count. `auto`: 1 when the native kernels run on threads of their own (native/parallel.h splits
 * every kernel call across the cores; on 2 near-idle cores fashion-cnn ran 3021 img/s with 1 worker and 2 kernel
 * threads, 1936 with 2 workers, 2346 with 1 thread: bench/results/trainer-profile.md round 3), else the CPU cores
 * Node may use, capped at 4 (beyond that memory bandwidth wins).
 */
export function resolveWorkers(requested: number | 'auto' | undefined): number {
  if (requested !== undefined && requested !== 'auto') return requested;
  if ((loadNativeConv().native?.nativeThreads?.() ?? 1) > 1) return 1;
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

function workerScript(): string {
  // Tests run this module from src/ (TypeScript); the worker entry is always the compiled one in dist/.
  const here = fileURLToPath(import.meta.url);
  const dir = path.dirname(here);
  return here.endsWith('.ts') ? path.join(dir, '..', 'dist', 'grad-worker.js') : path.join(dir, 'grad-worker.js');
}

interface Helper {
  worker: Worker;
  pending?: { resolve: (r: Reply) => void; reject: (e: Error) => void };
  failed?: Error;
}

export interface StartOptions {
  /**
   * Keep the process's native kernel threads (evaluation helpers, which run only TF.js's own kernels while the
   * calling thread waits for them); by default the first helper sets them to 1 (native-conv.ts).
   */
  keepKernelThreads?: boolean;
}

/** The helper threads of one training run. */
export class GradientWorkers {
  private version = 0;
  private constructor(
    private readonly helpers: Helper[],
    readonly layout: SharedLayout,
  ) {}

  /** Number of threads computing gradients, the main thread included. */
  get count(): number {
    return this.helpers.length + 1;
  }

  /** Starts `count - 1` helpers for `model` and waits until each has built its model. */
  static async start(
    count: number,
    model: tfType.LayersModel,
    setup: HelperSetup,
    options: StartOptions = {},
  ): Promise<GradientWorkers> {
    const sizes = model.weights.map((w) => w.shape.reduce<number>((a, b) => a * (b ?? 1), 1));
    const offsets: number[] = [];
    let total = 0;
    for (const s of sizes) {
      offsets.push(total);
      total += s;
    }
    const bytes = Math.max(4, total * 4);
    const layout: SharedLayout = {
      offsets,
      sizes,
      weights: new SharedArrayBuffer(bytes),
      grads: [],
      stats: [],
    };
    const helpers: Helper[] = [];
    const ready: Promise<void>[] = [];
    // native-conv.ts leaves the kernel pool alone in a helper whose environment names the count.
    const threads = options.keepKernelThreads ? loadNativeConv().native?.nativeThreads?.() : undefined;
    const env = threads ? { ...process.env, SEMEMBED_NATIVE_THREADS: String(threads) } : undefined;
    for (let i = 1; i < count; i++) {
      const grads = new SharedArrayBuffer(bytes);
      const stats = new SharedArrayBuffer(bytes);
      layout.grads.push(grads);
      layout.stats.push(stats);
      const worker = new Worker(workerScript(), {
        workerData: {
          setup,
          layout: { offsets, sizes, weights: layout.weights, grads, stats },
          weightCount: model.weights.length,
        },
        ...(env ? { env } : {}),
      });
      const h: Helper = { worker };
      helpers.push(h);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMsg = (m: { type: string; error?: string }) => {
            if (m.type === 'ready') {
              worker.off('message', onMsg);
              // Idle helpers never keep the process alive (an API user who forgets dispose(), an error path);
              // request() holds a reference while a step is out.
              worker.unref();
              resolve();
            } else if (m.type === 'error') {
              reject(new Error(`training worker ${i} could not start: ${m.error}`));
            }
          };
          worker.on('message', onMsg);
          worker.once('error', (e) => reject(new Error(`training worker ${i} could not start: ${e.message}`)));
        }),
      );
      worker.on('message', (m: Reply | { type: 'error'; error: string }) => {
        const p = h.pending;
        if (!p) return;
        h.pending = undefined;
        if (m.type === 'error') p.reject(new Error(`training worker ${i}: ${m.error}`));
        else if (m.type === 'step' || m.type === 'eval') p.resolve(m);
      });
      worker.on('error', (e) => {
        h.failed = e;
        h.pending?.reject(new Error(`training worker ${i} failed: ${e.message}`));
        h.pending = undefined;
      });
      worker.on('exit', (code) => {
        const e = new Error(`training worker ${i} exited (code ${code})`);
        h.failed ??= e;
        h.pending?.reject(e);
        h.pending = undefined;
      });
    }
    const gw = new GradientWorkers(helpers, layout);
    try {
      await Promise.all(ready);
    } catch (err) {
      await gw.dispose();
      throw err;
    }
    return gw;
  }

  /** Copies every model weight into the shared weight buffer (before each step); returns the requests' version. */
  publishWeights(model: tfType.LayersModel): number {
    const all = new Float32Array(this.layout.weights);
    model.weights.forEach((w, i) => {
      all.set(w.read().dataSync() as Float32Array, this.layout.offsets[i]);
    });
    return ++this.version;
  }

  /** Sends helper k (0-based) its share; resolves when its gradients are in the shared buffer. */
  request(k: number, msg: StepRequest): Promise<StepReply> {
    return this.send(k, msg) as Promise<StepReply>;
  }

  /** Sends helper k an evaluation batch (x is copied now, so the caller may reuse it); resolves with its outputs. */
  evaluate(k: number, msg: EvalRequest): Promise<EvalReply> {
    return this.send(k, msg) as Promise<EvalReply>;
  }

  private send(k: number, msg: StepRequest | EvalRequest): Promise<Reply> {
    const h = this.helpers[k];
    if (h.failed) return Promise.reject(h.failed);
    if (h.pending) return Promise.reject(new Error(`training worker ${k + 1} is busy (one request at a time)`));
    h.worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      h.pending = { resolve, reject };
      h.worker.postMessage(msg);
    }).finally(() => h.worker.unref());
  }

  /** Helper k's gradient of trainIdx[j], a view into the shared buffer. */
  gradView(k: number, packedOffset: number, size: number): Float32Array {
    return new Float32Array(this.layout.grads[k], packedOffset * 4, size);
  }

  /** Helper k's value of model weight i after its forward pass. */
  statView(k: number, i: number): Float32Array {
    return new Float32Array(this.layout.stats[k], this.layout.offsets[i] * 4, this.layout.sizes[i]);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.helpers.map((h) => h.worker.terminate()));
  }
}

/**
 * One data-parallel step: shares of the batch to the helpers, the first share here, then gradients combined
 * by share size. Returns the combined gradients (keyed by the main model's variable names), the mean loss and
 * the outputs of every row in batch order. Moving statistics are averaged into the main model in place.
 */
export async function parallelGradients(
  tf: Tf,
  workers: GradientWorkers,
  model: tfType.LayersModel,
  trainIdx: number[],
  batch: { x: Float32Array; labels: Int32Array; size: number },
  rowSize: number,
  local: (x: Float32Array, labels: Int32Array, n: number) => Promise<ShareResult>,
): Promise<{ value: number; grads: tfType.NamedTensorMap; emb: Float32Array; prob?: Float32Array }> {
  const n = batch.size;
  const parts = batchParts(n, workers.count);
  const version = workers.publishWeights(model);
  const replies: Array<Promise<StepReply> | undefined> = [];
  for (let k = 1; k < parts.length; k++) {
    const [s, e] = parts[k];
    replies.push(
      e > s
        ? workers.request(k - 1, {
            type: 'step',
            x: batch.x.slice(s * rowSize, e * rowSize),
            labels: batch.labels.slice(s, e),
            trainIdx,
            version,
          })
        : undefined,
    );
  }
  const [s0, e0] = parts[0];
  const mine = await local(batch.x.subarray(s0 * rowSize, e0 * rowSize), batch.labels.subarray(s0, e0), e0 - s0);
  let got: Array<StepReply | undefined>;
  try {
    got = await Promise.all(replies);
  } catch (err) {
    tf.dispose(mine.grads);
    throw err;
  }
  const weightOf = (k: number) => (parts[k][1] - parts[k][0]) / n;
  const vars = model.weights.map((w) => w.read() as tfType.Variable);
  const grads: tfType.NamedTensorMap = {};
  let packed = 0;
  for (const i of trainIdx) {
    const v = vars[i];
    const size = workers.layout.sizes[i];
    const off = packed;
    grads[v.name] = tf.tidy(() => {
      let g = tf.mul(mine.grads[v.name], weightOf(0));
      got.forEach((r, j) => {
        if (r) g = tf.add(g, tf.mul(tf.tensor(workers.gradView(j, off, size), v.shape), weightOf(j + 1)));
      });
      return g;
    });
    packed += size;
  }
  tf.dispose(mine.grads);
  // Moving statistics: each thread updated them from its share; the size-weighted mean is the update from the
  // mean of the share statistics.
  model.weights.forEach((w, i) => {
    if (w.trainable) return;
    const v = vars[i];
    const next = tf.tidy(() => {
      let acc = tf.mul(v, weightOf(0));
      got.forEach((r, j) => {
        if (r) acc = tf.add(acc, tf.mul(tf.tensor(workers.statView(j, i), v.shape), weightOf(j + 1)));
      });
      return acc;
    });
    v.assign(next);
    next.dispose();
  });
  let value = mine.value * weightOf(0);
  const emb = new Float32Array(n * (mine.emb.length / Math.max(1, e0 - s0)));
  emb.set(mine.emb, 0);
  const prob = mine.prob ? new Float32Array(n * (mine.prob.length / Math.max(1, e0 - s0))) : undefined;
  prob?.set(mine.prob!, 0);
  got.forEach((r, j) => {
    if (!r) return;
    value += r.loss * weightOf(j + 1);
    const [s] = parts[j + 1];
    emb.set(r.emb, s * (r.emb.length / (parts[j + 1][1] - s)));
    if (prob && r.prob) prob.set(r.prob, s * (r.prob.length / (parts[j + 1][1] - s)));
  });
  return { value, grads, emb, prob };
}

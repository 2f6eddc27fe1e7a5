/**
 * The training loop: Keras 2.2's SGD (momentum 0.9, nesterov, global-norm clipnorm, `decay`), the reference's
 * losses and loss weights, L2 kernel regularisers from the layers, per-epoch validation, lr schedules.
 * A hand-written loop rather than tfjs's fit(): tfjs's momentum optimiser differs from Keras's when the lr
 * changes between steps, and it has no global-norm clipping.
 */
import type * as tfType from '@tensorflow/tfjs';
import { embeddingLoss, categoricalCrossentropy, embeddingCorrect, classCorrect, type LossSetup } from './losses.js';
import { decayedLr, type LrSchedule } from './schedules.js';
import { besselCorrection } from './batchnorm.js';
import { parallelGradients, type GradientWorkers } from './parallel.js';
import { sgdStepNative } from './sgd-kernel.js';
import { tryNativeShareGradients } from './native-step/index.js';

type Tf = typeof tfType;

/** One split of a dataset as the loop needs it (adapter over @semembed/datasets). */
export interface DataSplit {
  size: number;
  inputShape: [number, number, number];
  labels: Int32Array;
  batches(o: { batchSize: number; shuffle: boolean; seed: number; epoch: number; augment: boolean }): Iterable<{
    x: Float32Array;
    labels: Int32Array;
    size: number;
  }>;
}

export interface ProgressEvent {
  phase: 'train' | 'val';
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  samples: number;
  loss: number;
  embAcc: number;
  clsAcc?: number;
  lr: number;
  imgPerSec: number;
}

export interface EpochLog {
  epoch: number;
  lr: number;
  loss: number;
  embAcc: number;
  clsAcc?: number;
  valLoss?: number;
  valEmbAcc?: number;
  valClsAcc?: number;
  /** The epoch's batches (the validation's time is valSeconds). */
  seconds: number;
  imgPerSec: number;
  /** Wall time of the validation after the epoch. */
  valSeconds?: number;
}

/** Keras 2.2 SGD: v = mu*v - lr*g; p += v (nesterov: p += mu*v - lr*g); lr / (1 + decay*iterations). */
export class KerasSGD {
  readonly momenta = new Map<string, tfType.Variable>();
  iterations = 0;
  constructor(
    private readonly tf: Tf,
    public lr: number,
    public readonly opts: { momentum: number; nesterov: boolean; clipnorm: number; decay: number },
  ) {}

  effectiveLr(): number {
    return decayedLr(this.lr, this.opts.decay, this.iterations);
  }

  private momentumOf(v: tfType.Variable): tfType.Variable {
    let m = this.momenta.get(v.name);
    if (!m) {
      const tf = this.tf;
      m = tf.tidy(() => tf.keep(tf.variable(tf.zerosLike(v), false, `${v.name}/momentum`)));
      this.momenta.set(v.name, m);
    }
    return m;
  }

  apply(vars: tfType.Variable[], grads: tfType.NamedTensorMap): void {
    const tf = this.tf;
    const lr = this.effectiveLr();
    const { momentum, nesterov, clipnorm } = this.opts;
    // wasm: one native kernel over all weights (sgd-kernel.ts), the same float32 operations as below
    const moms = vars.map((v) => this.momentumOf(v));
    const gs = vars.map((v) => grads[v.name]);
    const next = sgdStepNative(tf, vars, gs, moms, { lr, momentum, nesterov, clipnorm });
    if (next) {
      vars.forEach((v, i) => {
        moms[i].assign(next[2 * i + 1]);
        v.assign(next[2 * i]);
      });
      tf.dispose(next);
      this.iterations += 1;
      return;
    }
    tf.tidy(() => {
      let scale: tfType.Scalar | null = null;
      if (clipnorm > 0) {
        const sq = vars.map((v) => tf.sum(tf.square(grads[v.name])));
        const norm = tf.sqrt(tf.addN(sq));
        // Keras clip_norm: g * clipnorm / max(norm, clipnorm)
        scale = tf.div(clipnorm, tf.maximum(norm, clipnorm)) as tfType.Scalar;
      }
      for (const v of vars) {
        let g = grads[v.name];
        if (scale) g = tf.mul(g, scale);
        const m = this.momentumOf(v);
        const newM = tf.sub(tf.mul(m, momentum), tf.mul(g, lr));
        m.assign(newM);
        const newP = nesterov ? tf.add(v, tf.sub(tf.mul(newM, momentum), tf.mul(g, lr))) : tf.add(v, newM);
        v.assign(newP);
      }
    });
    this.iterations += 1;
  }

  dispose(): void {
    for (const m of this.momenta.values()) m.dispose();
    this.momenta.clear();
  }
}

export interface FitOptions extends LossSetup {
  tf: Tf;
  model: tfType.LayersModel;
  train: DataSplit;
  test?: DataSplit;
  epochs: number;
  initialEpoch?: number;
  batchSize: number;
  valBatchSize: number;
  schedule: LrSchedule;
  optimizer: KerasSGD;
  seed: number;
  augment: boolean;
  /** Only variables of these layers are trained (finetune_init); all when undefined. */
  trainableLayers?: Set<string>;
  onProgress?: (e: ProgressEvent) => void;
  onEpochEnd?: (log: EpochLog) => Promise<void> | void;
  /** Helper threads that compute part of every batch's gradients (see parallel.ts). */
  workers?: GradientWorkers;
  /** Helper threads that take their share of the validation batches (see evaluate); may be `workers`. */
  evalHelpers?: GradientWorkers | Promise<GradientWorkers>;
  /** Checked between batches; when true the loop stops after the current batch and returns. */
  shouldStop?: () => boolean;
}

export interface EvalResult {
  loss: number;
  embAcc: number;
  clsAcc?: number;
  /** Embedding outputs (n x dim) when asked for. */
  features?: Float32Array;
  /** argmax of the prob head (when present). */
  clsPred?: Int32Array;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function outputsOf(out: tfType.Tensor | tfType.Tensor[]): [tfType.Tensor, tfType.Tensor | undefined] {
  return Array.isArray(out) ? [out[0], out[1]] : [out, undefined];
}

function targetsFor(
  tf: Tf,
  o: Pick<FitOptions, 'embedding' | 'embRows' | 'embDim' | 'numClasses'>,
  labels: Int32Array,
) {
  const emb = tf.tensor2d(o.embedding, [o.embRows, o.embDim]);
  const idx = tf.tensor1d(labels, 'int32');
  const yEmb = tf.gather(emb, idx);
  const yCls = tf.oneHot(idx, o.numClasses).toFloat();
  return { yEmb, yCls };
}

/** Loss of one batch: mean embedding loss + clsWeight * mean cross-entropy + regularisers (Keras's total loss). */
function batchLoss(
  tf: Tf,
  o: Pick<FitOptions, 'loss' | 'clsWeight' | 'model'>,
  emb: tfType.Tensor,
  prob: tfType.Tensor | undefined,
  yEmb: tfType.Tensor,
  yCls: tfType.Tensor,
): tfType.Scalar {
  let total: tfType.Tensor = tf.mean(embeddingLoss(tf, o.loss, yEmb, emb));
  if (prob && o.clsWeight > 0)
    total = tf.add(total, tf.mul(o.clsWeight, tf.mean(categoricalCrossentropy(tf, yCls, prob))));
  for (const r of o.model.calculateLosses()) total = tf.add(total, r);
  return total as tfType.Scalar;
}

type EvalSetup = Pick<
  FitOptions,
  'tf' | 'model' | 'loss' | 'embedding' | 'embRows' | 'embDim' | 'clsWeight' | 'numClasses'
>;

/** Loss and outputs of one batch in inference mode (training = false): evaluate's unit, also run by the helpers. */
export interface BatchOutputs {
  loss: number;
  emb: Float32Array;
  prob?: Float32Array;
}

export async function evalBatch(
  tf: Tf,
  o: Omit<EvalSetup, 'tf'>,
  inputShape: [number, number, number],
  x: Float32Array,
  labels: Int32Array,
  n: number,
): Promise<BatchOutputs> {
  const [H, W, C] = inputShape;
  const [loss, emb, prob] = tf.tidy(() => {
    const xt = tf.tensor4d(x, [n, H, W, C]);
    const [e, p] = outputsOf(o.model.apply(xt, { training: false }) as tfType.Tensor | tfType.Tensor[]);
    const { yEmb, yCls } = targetsFor(tf, o, labels);
    return [batchLoss(tf, o, e, p, yEmb, yCls), e, p] as const;
  });
  const out: BatchOutputs = {
    loss: (await loss.data())[0],
    emb: (await emb.data()) as Float32Array,
    prob: prob ? ((await prob.data()) as Float32Array) : undefined,
  };
  tf.dispose([loss, emb, prob].filter((t): t is tfType.Tensor => t !== undefined));
  return out;
}

/**
 * Evaluates a split without augmentation (training = false). With `helpers`, batch b runs on thread b % count
 * (0 = this one; the helpers hold copies of the model and TF.js's own kernels): the same batches through the same
 * kernels, summed in batch order, so the result is the same to the last bit, in about 1 / count of the time.
 */
export async function evaluate(
  o: EvalSetup,
  split: DataSplit,
  batchSize: number,
  opts: {
    features?: boolean;
    onBatch?: (batch: number, batches: number) => void;
    /** Still starting when a promise (train.ts starts them beside the first epoch). */
    helpers?: GradientWorkers | Promise<GradientWorkers>;
  } = {},
): Promise<EvalResult> {
  const { tf, model } = o;
  const batches = Math.ceil(split.size / batchSize);
  let lossSum = 0;
  let embOk = 0;
  let clsOk = 0;
  let seen = 0;
  let hasCls = false;
  const features = opts.features ? new Float32Array(split.size * o.embDim) : undefined;
  const clsPred = new Int32Array(split.size);
  let b = 0;
  const add = (labels: Int32Array, r: BatchOutputs) => {
    const size = labels.length;
    lossSum += r.loss * size;
    embOk += embeddingCorrect(o.loss, r.emb, labels, o.embedding, o.embRows, o.embDim);
    if (features) features.set(r.emb, seen * o.embDim);
    if (r.prob) {
      hasCls = true;
      const pv = r.prob;
      clsOk += classCorrect(pv, labels, o.numClasses);
      for (let i = 0; i < size; i++) {
        let best = 0;
        for (let c = 1; c < o.numClasses; c++) if (pv[i * o.numClasses + c] > pv[i * o.numClasses + best]) best = c;
        clsPred[seen + i] = best;
      }
    }
    seen += size;
    opts.onBatch?.(++b, batches);
  };
  const helpers = await opts.helpers;
  const lanes = helpers?.count ?? 1;
  const version = helpers?.publishWeights(model) ?? 0;
  // One round: this thread's batch (copied: the split reuses its buffer) and one batch per helper, in flight.
  let mine: { x: Float32Array; labels: Int32Array } | undefined;
  let theirs: Array<{ labels: Int32Array; out: Promise<BatchOutputs> }> = [];
  const finishRound = async () => {
    const own = await evalBatch(tf, o, split.inputShape, mine!.x, mine!.labels, mine!.labels.length);
    add(mine!.labels, own);
    for (const t of theirs) add(t.labels, await t.out);
    mine = undefined;
    theirs = [];
    await yieldToEventLoop();
  };
  for (const batch of split.batches({ batchSize, shuffle: false, seed: 0, epoch: 0, augment: false })) {
    const labels = batch.labels.slice(0, batch.size);
    if (!mine) {
      mine = { x: lanes > 1 ? batch.x.slice(0, batch.x.length) : batch.x, labels };
    } else {
      const out = helpers!.evaluate(theirs.length, { type: 'eval', x: batch.x, labels, version });
      out.catch(() => undefined); // awaited in finishRound; an earlier failure there must not leave it unhandled
      theirs.push({ labels, out });
    }
    if (theirs.length === lanes - 1) await finishRound();
  }
  if (mine) await finishRound();
  return {
    loss: lossSum / Math.max(1, seen),
    embAcc: embOk / Math.max(1, seen),
    clsAcc: hasCls ? clsOk / Math.max(1, seen) : undefined,
    features,
    clsPred: hasCls ? clsPred : undefined,
  };
}

/**
 * Loss, gradients of `vars` and outputs for n rows in training mode: one thread's share of a step (the whole
 * batch without helpers). Also runs in the helper threads.
 */
export interface ShareResult {
  value: number;
  grads: tfType.NamedTensorMap;
  emb: Float32Array;
  prob?: Float32Array;
}

export async function shareGradients(
  tf: Tf,
  o: Pick<FitOptions, 'model' | 'loss' | 'clsWeight' | 'embedding' | 'embRows' | 'embDim' | 'numClasses'> & {
    train: Pick<DataSplit, 'inputShape'>;
  },
  vars: tfType.Variable[],
  x: Float32Array,
  labels: Int32Array,
  n: number,
): Promise<ShareResult> {
  // Sequential conv nets on wasm / cpu: one native step without the tape (native-step/); else TF.js below.
  const native = tryNativeShareGradients(tf, o, vars, x, labels, n);
  if (native) return native;
  const [H, W, C] = o.train.inputShape;
  let embT: tfType.Tensor | undefined;
  let probT: tfType.Tensor | undefined;
  const unbiasMovingVariance = besselCorrection(tf, o.model, n);
  const { value, grads } = tf.tidy(() => {
    const xt = tf.tensor4d(x, [n, H, W, C]);
    const { yEmb, yCls } = targetsFor(tf, o, labels);
    return tf.variableGrads(() => {
      const [e, p] = outputsOf(o.model.apply(xt, { training: true }) as tfType.Tensor | tfType.Tensor[]);
      embT = tf.keep(e.clone());
      if (p) probT = tf.keep(p.clone());
      return batchLoss(tf, o, e, p, yEmb, yCls);
    }, vars);
  });
  unbiasMovingVariance();
  // Asynchronous reads: the webgpu backend cannot read synchronously in Node (its readSync needs OffscreenCanvas).
  const out = {
    value: ((await value.data()) as Float32Array)[0],
    grads,
    emb: (await embT!.data()) as Float32Array,
    prob: probT ? ((await probT.data()) as Float32Array) : undefined,
  };
  tf.dispose([value, embT!, probT].filter((t): t is tfType.Tensor => t !== undefined));
  return out;
}

/**
 * Trains `epochs - initialEpoch` epochs. Returns the logs, whether it was stopped early, and the last epoch's
 * validation with its features: that is the trained model's test pass (train.ts need not run it again).
 */
export async function fit(o: FitOptions): Promise<{ logs: EpochLog[]; stopped: boolean; test?: EvalResult }> {
  const { tf, model, optimizer } = o;
  const [H, W, C] = o.train.inputShape;
  const logs: EpochLog[] = [];
  const stepsPerEpoch = Math.ceil(o.train.size / o.batchSize);
  const trained = (w: tfType.LayerVariable) =>
    w.trainable && (!o.trainableLayers || o.trainableLayers.has(w.originalName.split('/')[0]));
  const trainVars = model.trainableWeights.filter(trained).map((w) => w.read() as tfType.Variable);
  // The same variables as indices into model.weights: the helpers' models name their variables differently.
  const trainIdx = model.weights.flatMap((w, i) => (trained(w) ? [i] : []));
  const hasCls = model.outputs.length > 1;
  let test: EvalResult | undefined;
  for (let epoch = o.initialEpoch ?? 0; epoch < o.epochs; epoch++) {
    optimizer.lr = o.schedule.epochLr(epoch, optimizer.lr);
    const t0 = performance.now();
    let lossSum = 0;
    let embOk = 0;
    let clsOk = 0;
    let seen = 0;
    let b = 0;
    for (const batch of o.train.batches({
      batchSize: o.batchSize,
      shuffle: true,
      seed: o.seed,
      epoch,
      augment: o.augment,
    })) {
      if (o.schedule.batchLr) optimizer.lr = o.schedule.batchLr(optimizer.iterations);
      const lrUsed = optimizer.effectiveLr();
      const local = (x: Float32Array, labels: Int32Array, n: number) => shareGradients(tf, o, trainVars, x, labels, n);
      const step = o.workers
        ? await parallelGradients(tf, o.workers, model, trainIdx, batch, H * W * C, local)
        : await local(batch.x, batch.labels, batch.size);
      optimizer.apply(trainVars, step.grads);
      tf.dispose(step.grads);
      const lv = step.value;
      embOk += embeddingCorrect(o.loss, step.emb, batch.labels, o.embedding, o.embRows, o.embDim);
      if (step.prob) clsOk += classCorrect(step.prob, batch.labels, o.numClasses);
      lossSum += lv * batch.size;
      seen += batch.size;
      b++;
      const secs = (performance.now() - t0) / 1000;
      o.onProgress?.({
        phase: 'train',
        epoch,
        epochs: o.epochs,
        batch: b,
        batches: stepsPerEpoch,
        samples: seen,
        loss: lossSum / seen,
        embAcc: embOk / seen,
        clsAcc: hasCls ? clsOk / seen : undefined,
        lr: lrUsed,
        imgPerSec: seen / Math.max(secs, 1e-9),
      });
      if (!Number.isFinite(lv)) throw new Error(`training diverged: loss is ${lv} at epoch ${epoch + 1}, batch ${b}`);
      // The wasm backend resolves data() without a macrotask: yield so signal handlers (Ctrl-C) and timers run.
      await yieldToEventLoop();
      if (o.shouldStop?.()) return { logs, stopped: true };
    }
    const seconds = (performance.now() - t0) / 1000;
    const log: EpochLog = {
      epoch,
      lr: optimizer.lr,
      loss: lossSum / Math.max(1, seen),
      embAcc: embOk / Math.max(1, seen),
      clsAcc: hasCls ? clsOk / Math.max(1, seen) : undefined,
      seconds,
      imgPerSec: seen / Math.max(seconds, 1e-9),
    };
    if (o.test) {
      const features = epoch === o.epochs - 1;
      const v0 = performance.now();
      const r = await evaluate(o, o.test, o.valBatchSize, { helpers: o.evalHelpers, features });
      log.valSeconds = (performance.now() - v0) / 1000;
      if (features) test = r;
      log.valLoss = r.loss;
      log.valEmbAcc = r.embAcc;
      log.valClsAcc = r.clsAcc;
      if (o.schedule.afterEpoch) optimizer.lr = o.schedule.afterEpoch(r.loss, optimizer.lr);
    }
    logs.push(log);
    await o.onEpochEnd?.(log);
    if (o.shouldStop?.()) return { logs, stopped: true };
  }
  return { logs, stopped: false, test };
}

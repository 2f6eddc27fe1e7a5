/**
 * learn_image_embeddings.py as a function: class embedding + dataset + architecture -> trained model,
 * .h5 dumps, test-set features, final metrics. The CLI (`semembed learn-image-embeddings`) and the main job
 * call this.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import {
  buildArchitecture,
  listArchitectures,
  loadWeightsByKerasName,
  modelFromKerasConfig,
  type KerasModelConfig,
} from '@semembed/architectures';
import { loadDatasetSplits, type Dataset } from '@semembed/datasets';
import { mulberry32, writeNpy } from '@semembed/formats';
import { readClassEmbedding, type ClassId } from '@semembed/hierarchy';
import { selectBackend, describeBackend, type BackendName, type BackendChoice } from './backend.js';
import type { PowerPreference } from '@semembed/gpu';
import { splitFromDataset } from './data.js';
import { TrainerError } from './errors.js';
import { evaluate, fit, KerasSGD, type EpochLog, type EvalResult, type ProgressEvent } from './fit.js';
import { readKerasH5, writeKerasH5 } from './h5.js';
import { lookupFrom, modelWeights, writeSnapshot, type SnapshotState } from './snapshot.js';
import { LOSSES, balancedAccuracy, nearestClass, type LossName } from './losses.js';
import { GradientWorkers, resolveWorkers, type HelperSetup } from './parallel.js';
import { decayFor, makeSchedule, LR_SCHEDULES, type ScheduleOptions } from './schedules.js';

type Tf = typeof tfType;

export interface TrainOptions extends ScheduleOptions {
  dataset: string;
  dataRoot?: string;
  /** Class embedding file (JSON or the reference's .pickle), or 'onehot'. */
  embedding: string;
  /** Default: fashion-cnn for FashionMNIST, else simple (the reference's default). */
  architecture?: string;
  loss?: LossName;
  clsWeight?: number;
  clsBase?: string;
  lrSchedule?: string;
  clipgrad?: number;
  maxDecay?: number;
  nesterov?: boolean;
  epochs?: number;
  batchSize?: number;
  valBatchSize?: number;
  /** Reference-style training augmentation of the dataset (default true). */
  augment?: boolean;
  modelDump?: string;
  weightDump?: string;
  /** Test-set embeddings as float32 .npy; labels next to it as <name>.labels.npy (int64). */
  featureDump?: string;
  snapshot?: string;
  finetune?: string;
  finetuneInit?: number;
  seed?: number;
  backend?: BackendName;
  /** WebGPU adapter preference (--gpu_adapter): 'high-performance' (default, a discrete GPU) or 'low-power'. */
  gpuAdapter?: PowerPreference;
  /**
   * Threads computing each batch's gradients on the wasm/cpu backends (data-parallel; default 'auto' = the
   * usable cores, at most 4). 1 trains on the calling thread only. Results depend on the count (BatchNorm
   * statistics are per share), not on timing.
   */
  workers?: number | 'auto';
  /** Keep only the first N images of each split (quick runs, tests). */
  limit?: number;
  /** Validate on the test split after every epoch (Keras's validation_data; default true). */
  validate?: boolean;
  onLog?: (line: string) => void;
  onProgress?: (e: ProgressEvent) => void;
  onEpochEnd?: (log: EpochLog) => void;
  /** Aborting stops after the current batch; a snapshot is written and train() resolves with stopped = true. */
  signal?: AbortSignal;
}

export interface TrainResult {
  backend: string;
  architecture: string;
  epochs: number;
  logs: EpochLog[];
  stopped: boolean;
  snapshotWritten?: string;
  test?: { loss: number; embAcc: number; clsAcc?: number; balancedAccuracy: number; balancedAccuracyEmbedding: number };
  files: string[];
  modelConfig: KerasModelConfig;
}

function check(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new TrainerError(msg);
}

/** Runs fn with Math.random replaced by a seeded generator: tfjs initialisers without a seed draw from it. */
async function withSeededMathRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const orig = Math.random;
  Math.random = mulberry32((seed >>> 0) ^ 0x9e3779b9); // the same sequence as before the move to formats
  try {
    return await fn();
  } finally {
    Math.random = orig;
  }
}

function loadEmbedding(spec: string): {
  embedding: Float32Array | null;
  rows: number;
  dim: number;
  classes?: ClassId[];
} {
  if (spec === 'onehot') return { embedding: null, rows: 0, dim: 0 };
  const e = readClassEmbedding(spec);
  return { embedding: Float32Array.from(e.embedding), rows: e.rows, dim: e.dim, classes: e.ind2label };
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const cleanup: Array<() => Promise<void>> = [];
  try {
    return await trainWith(o, cleanup);
  } finally {
    for (const c of cleanup) await c();
  }
}

async function trainWith(o: TrainOptions, cleanup: Array<() => Promise<void>>): Promise<TrainResult> {
  const log = o.onLog ?? ((l: string) => console.log(l));
  const loss = o.loss ?? 'inv_corr';
  check(LOSSES.includes(loss), `--loss: unknown loss '${loss}' (choose ${LOSSES.join('|')})`);
  const scheduleName = o.lrSchedule ?? 'SGDR';
  check(
    LR_SCHEDULES.some((s) => s.toLowerCase() === scheduleName.toLowerCase()),
    `--lr_schedule: unknown schedule '${scheduleName}' (choose ${LR_SCHEDULES.join('|')})`,
  );
  const clsWeight = o.clsWeight ?? 0;
  check(Number.isFinite(clsWeight) && clsWeight >= 0, `--cls_weight must be a number >= 0, got ${clsWeight}`);
  const batchSize = o.batchSize ?? 100;
  check(Number.isInteger(batchSize) && batchSize > 0, `--batch_size must be a positive integer, got ${batchSize}`);
  const valBatchSize = o.valBatchSize ?? batchSize;
  check(
    Number.isInteger(valBatchSize) && valBatchSize > 0,
    `--val_batch_size must be a positive integer, got ${valBatchSize}`,
  );
  if (o.epochs !== undefined)
    check(Number.isInteger(o.epochs) && o.epochs > 0, `--epochs must be a positive integer, got ${o.epochs}`);
  const seed = o.seed ?? 0;
  const workerCount = resolveWorkers(o.workers);
  check(
    Number.isInteger(workerCount) && workerCount >= 1 && workerCount <= 64,
    `--workers must be auto or an integer from 1 to 64, got ${o.workers}`,
  );
  check(Number.isInteger(seed) && seed >= 0, `--seed must be a non-negative integer, got ${seed}`);
  for (const [flag, file] of [
    ['--model_dump', o.modelDump],
    ['--weight_dump', o.weightDump],
    ['--feature_dump', o.featureDump],
    ['--snapshot', o.snapshot],
  ] as const) {
    if (file)
      check(
        fs.existsSync(path.dirname(path.resolve(file))),
        `${flag} ${file}: folder ${path.dirname(path.resolve(file))} does not exist`,
      );
  }
  if (o.finetune) check(fs.existsSync(o.finetune), `--finetune ${o.finetune}: no such file`);
  const architecture =
    o.architecture ??
    (o.dataset
      .toLowerCase()
      .replace(/[^a-z]/g, '')
      .includes('fashion')
      ? 'fashion-cnn'
      : 'simple');
  check(
    listArchitectures().some((a) => a.name === architecture),
    `--architecture: unknown architecture '${architecture}' (choose ${listArchitectures()
      .map((a) => a.name)
      .join('|')})`,
  );

  // Data and targets
  const emb = loadEmbedding(o.embedding);
  const { train: trainDs, test: testDs } = await loadDatasetSplits(o.dataset, {
    dataRoot: o.dataRoot,
    classes: emb.classes,
    limit: o.limit,
  });
  const numClasses = trainDs.numClasses;
  let embedding: Float32Array;
  let rows: number;
  let dim: number;
  if (emb.embedding) {
    embedding = emb.embedding;
    rows = emb.rows;
    dim = emb.dim;
    check(
      rows >= numClasses,
      `--embedding ${o.embedding}: ${rows} class embeddings, but the dataset has ${numClasses} classes`,
    );
  } else {
    rows = dim = numClasses;
    embedding = new Float32Array(rows * dim);
    for (let i = 0; i < rows; i++) embedding[i * dim + i] = 1;
  }
  log(
    `Data: ${o.dataset}, ${trainDs.labels.length} training / ${testDs.labels.length} test images of ${trainDs.inputShape.join('x')}, ${numClasses} classes; embedding ${o.embedding === 'onehot' ? 'onehot' : o.embedding} (${rows}x${dim})`,
  );

  // Backend and model
  const choice: BackendChoice = await selectBackend(o.backend ?? 'auto', { powerPreference: o.gpuAdapter });
  const tf: Tf = choice.tf;
  log(describeBackend(choice));

  let cfg: KerasModelConfig;
  let state: SnapshotState | undefined;
  let snapshotContent: Awaited<ReturnType<typeof readKerasH5>> | undefined;
  if (o.snapshot && fs.existsSync(o.snapshot)) {
    log(`Resuming from snapshot ${o.snapshot}`);
    snapshotContent = await readKerasH5(o.snapshot);
    check(!!snapshotContent.attrs.model_config, `--snapshot ${o.snapshot}: no model_config in the file`);
    cfg = JSON.parse(snapshotContent.attrs.model_config) as KerasModelConfig;
    if (snapshotContent.attrs.semembed_state) state = JSON.parse(snapshotContent.attrs.semembed_state) as SnapshotState;
  } else {
    try {
      cfg = buildArchitecture(architecture, {
        inputShape: trainDs.inputShape,
        embeddingDim: dim,
        numClasses,
        loss,
        clsWeight,
        clsBase: o.clsBase,
      });
    } catch (err) {
      throw new TrainerError(`--architecture ${architecture}: ${(err as Error).message}`);
    }
  }
  const model = await withSeededMathRandom(seed, () => modelFromKerasConfig(tf, cfg));
  check(
    model.outputs.length === (clsWeight > 0 ? 2 : 1),
    `the model has ${model.outputs.length} outputs, expected ${clsWeight > 0 ? 2 : 1} for --cls_weight ${clsWeight}`,
  );
  if (snapshotContent) {
    loadWeightsByKerasName(tf, model, lookupFrom(snapshotContent.layers), { source: o.snapshot });
  }

  const helperSetup: HelperSetup = {
    backend: choice.name === 'cpu' ? 'cpu' : 'wasm',
    modelConfig: cfg,
    loss,
    clsWeight,
    embedding,
    embRows: rows,
    embDim: dim,
    numClasses,
    inputShape: trainDs.inputShape,
  };
  let workers: GradientWorkers | undefined;
  if (workerCount > 1 && (choice.name === 'wasm' || choice.name === 'cpu')) {
    workers = await GradientWorkers.start(workerCount, model, helperSetup);
    cleanup.push(() => workers!.dispose());
    log(
      `Data-parallel training: ${workerCount} threads, each computes the gradients of 1/${workerCount} of every batch (--workers)`,
    );
  } else if (workerCount > 1) {
    log(`--workers ${workerCount}: not used, the ${choice.name} backend runs its own threads`);
  }
  // Evaluation (every epoch's validation, the final test pass) runs TF.js's single-threaded kernels: one more
  // thread takes every other batch (fit.ts's evaluate; the same numbers). The data-parallel helpers do it when
  // there are some; else one helper that keeps the native kernels' threads for the training steps, started
  // beside the first epoch (a failed start surfaces at the first evaluation).
  let evalHelpers: GradientWorkers | Promise<GradientWorkers> | undefined = workers;
  if (!evalHelpers && (choice.name === 'wasm' || choice.name === 'cpu') && os.availableParallelism() > 1) {
    const starting = GradientWorkers.start(2, model, helperSetup, { keepKernelThreads: true });
    starting.catch(() => undefined); // handled where it is awaited
    cleanup.push(() => starting.then((h) => h.dispose()).catch(() => undefined));
    evalHelpers = starting;
  }

  const stepsPerEpoch = Math.ceil(trainDs.labels.length / batchSize);
  const schedule = makeSchedule(scheduleName, o, stepsPerEpoch);
  const epochs = o.epochs ?? schedule.defaultEpochs;
  const decay = decayFor(o.maxDecay ?? 0, Math.floor(trainDs.labels.length / batchSize), epochs);
  const optOpts = { momentum: 0.9, nesterov: o.nesterov ?? false, clipnorm: o.clipgrad ?? 10, decay };
  const optimizer = new KerasSGD(tf, o.sgdLr ?? 0.1, optOpts);
  if (state) {
    optimizer.lr = state.lr;
    optimizer.iterations = state.iterations;
    schedule.restore(state.schedule);
    const vars = new Map(
      model.trainableWeights.map((w) => {
        const v = w.read() as tfType.Variable;
        return [v.name, v] as const;
      }),
    );
    for (const w of snapshotContent!.optimizerWeights) {
      const m = /^SGD\/momentum\/(.*):0$/.exec(w.name);
      const v = m ? vars.get(m[1]) : undefined;
      if (v && v.shape.join() === w.shape.join()) {
        optimizer.momenta.set(v.name, tf.variable(tf.tensor(w.data, w.shape), false));
      }
    }
  } else if (scheduleName.toLowerCase() === 'sgdr') {
    optimizer.lr = o.sgdrMaxLr ?? 0.1;
  } else if (scheduleName.toLowerCase() === 'clr') {
    optimizer.lr = o.clrMinLr ?? 1e-5;
  }

  const trainSplit = splitFromDataset(trainDs);
  const testSplit = splitFromDataset(testDs);
  const base = { tf, model, loss, embedding, embRows: rows, embDim: dim, clsWeight, numClasses, workers, evalHelpers };
  const stop = () => o.signal?.aborted === true;
  const snapshotPath = o.snapshot;
  const files: string[] = [];
  let logs: EpochLog[] = [];
  let snapshotWritten: string | undefined;
  let nextEpoch = state?.epoch ?? 0;
  let finetuneDone = state?.finetuneDone ?? !o.finetune;

  const saveSnapshot = async (epoch: number, opt: KerasSGD) => {
    if (!snapshotPath) return;
    await writeSnapshot(snapshotPath, cfg, model, opt, {
      format: 'semembed-trainer-snapshot/1',
      epoch,
      lr: opt.lr,
      iterations: opt.iterations,
      schedule: schedule.state(),
      finetuneDone,
    });
    snapshotWritten = snapshotPath;
  };

  // Fine-tuning: weights by layer name, then a few epochs of only the new layers at a constant lr.
  if (o.finetune && !finetuneDone) {
    log(`Loading pre-trained weights from ${o.finetune}`);
    const src = await readKerasH5(o.finetune);
    const r = loadWeightsByKerasName(tf, model, lookupFrom(src.layers), {
      allowMissing: true,
      skipMismatch: true,
      source: o.finetune,
    });
    log(
      `  loaded ${r.loaded.length} weights, ${r.missing.length} not in the file, ${r.mismatched.length} skipped (shape mismatch)`,
    );
    const initEpochs = o.finetuneInit ?? 8;
    if (initEpochs > 0) {
      log('Pre-training new layers');
      // The reference: layers named embedding / prob, plus the embedding network's last layer.
      const embedLast = listArchitectures().find((a) => a.name === architecture)?.embeddingLayer;
      const newLayers = new Set(['embedding', 'prob', ...(embedLast ? [embedLast] : [])]);
      const initOpt = new KerasSGD(tf, o.sgdLr ?? 0.1, { ...optOpts, decay: 0 });
      const r2 = await fit({
        ...base,
        train: trainSplit,
        test: o.validate === false ? undefined : testSplit,
        epochs: initEpochs,
        batchSize,
        valBatchSize,
        schedule: makeSchedule('SGD', { sgdSchedule: `1:${o.sgdLr ?? 0.1},${initEpochs}` }, stepsPerEpoch),
        optimizer: initOpt,
        seed,
        augment: o.augment !== false,
        trainableLayers: newLayers,
        onProgress: o.onProgress,
        onEpochEnd: o.onEpochEnd,
        shouldStop: stop,
      });
      initOpt.dispose();
      logs = logs.concat(r2.logs);
      if (r2.stopped) {
        await saveSnapshot(0, optimizer);
        return finish(true);
      }
      log('Full model training');
    }
    finetuneDone = true;
  }

  const r = await fit({
    ...base,
    train: trainSplit,
    test: o.validate === false ? undefined : testSplit,
    epochs,
    initialEpoch: nextEpoch,
    batchSize,
    valBatchSize,
    schedule,
    optimizer,
    seed,
    augment: o.augment !== false,
    onProgress: o.onProgress,
    onEpochEnd: async (l) => {
      nextEpoch = l.epoch + 1;
      await saveSnapshot(nextEpoch, optimizer);
      o.onEpochEnd?.(l);
    },
    shouldStop: stop,
  });
  logs = logs.concat(r.logs);
  if (r.stopped) {
    // Mid-epoch: the interrupted epoch reruns on resume.
    await saveSnapshot(nextEpoch, optimizer);
    return finish(true);
  }
  return finish(false, r.test);

  /** lastValidation: fit's validation after the last epoch (with the features), when it ran. */
  async function finish(wasStopped: boolean, lastValidation?: EvalResult): Promise<TrainResult> {
    const result: TrainResult = {
      backend: choice.name,
      architecture,
      epochs,
      logs,
      stopped: wasStopped,
      snapshotWritten,
      files,
      modelConfig: cfg,
    };
    if (wasStopped) {
      if (snapshotWritten)
        log(`Interrupted: snapshot written to ${snapshotWritten}; rerun the same command to resume.`);
      optimizer.dispose();
      model.dispose();
      return result;
    }
    // Final evaluation, as the reference prints it: the last epoch's validation when it ran (the same model, split
    // and batches), else a test pass now.
    const ev =
      lastValidation ?? (await evaluate(base, testSplit, valBatchSize, { features: true, helpers: evalHelpers }));
    const embPred = nearestClass(loss, ev.features!, testDs.labels.length, embedding, rows, dim);
    const balEmb = balancedAccuracy(embPred, testDs.labels);
    const balCls = ev.clsPred ? balancedAccuracy(ev.clsPred, testDs.labels) : balEmb;
    log(
      `[${[ev.loss, ev.embAcc, ...(ev.clsAcc !== undefined ? [ev.clsAcc] : [])].map((v) => v.toFixed(6)).join(', ')}]`,
    );
    log(
      `Test: loss ${ev.loss.toFixed(4)}, embedding accuracy ${ev.embAcc.toFixed(4)}` +
        (ev.clsAcc !== undefined ? `, classification accuracy ${ev.clsAcc.toFixed(4)}` : ''),
    );
    if (ev.clsPred) log(`Average Accuracy: ${balCls.toFixed(4)}`);
    log(`Average Accuracy (nearest class embedding): ${balEmb.toFixed(4)}`);
    result.test = {
      loss: ev.loss,
      embAcc: ev.embAcc,
      clsAcc: ev.clsAcc,
      balancedAccuracy: balCls,
      balancedAccuracyEmbedding: balEmb,
    };

    if (o.weightDump) {
      await writeKerasH5(o.weightDump, { layers: await modelWeights(model) }, 'weights');
      files.push(o.weightDump);
    }
    if (o.modelDump) {
      await writeKerasH5(o.modelDump, { modelConfig: cfg, layers: await modelWeights(model) });
      files.push(o.modelDump);
    }
    if (o.featureDump) {
      writeNpy(o.featureDump, { data: ev.features!, shape: [testDs.labels.length, dim], dtype: 'float32' });
      const labelsPath = featureLabelsPath(o.featureDump);
      const labels = new BigInt64Array(testDs.labels.length);
      testDs.labels.forEach((v, i) => (labels[i] = BigInt(v)));
      writeNpy(labelsPath, { data: labels, shape: [labels.length], dtype: 'int64' });
      files.push(o.featureDump, labelsPath);
    }
    for (const f of files) log(`Wrote ${f}`);
    optimizer.dispose();
    model.dispose();
    return result;
  }
}

/** features.npy -> features.labels.npy (labels of the feature rows, int64; class index = embedding row). */
export function featureLabelsPath(featureDump: string): string {
  return featureDump.endsWith('.npy') ? `${featureDump.slice(0, -4)}.labels.npy` : `${featureDump}.labels.npy`;
}

export type { Dataset };

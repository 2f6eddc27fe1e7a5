import type { Argv } from 'yargs';
import type { EpochLog, ProgressEvent } from '@semembed/trainer';
import type { ProgressBar } from '../progress.js';
import type { ArgsOf } from '../command.js';
import { BACKEND_NAMES, LOSSES, LR_SCHEDULES } from '../choices.js';
import { UsageError } from '../errors.js';
import {
  intOption,
  numberOption,
  numberOptions,
  showProgress,
  withProgressOptions,
  workersOption,
} from '../options.js';
import { checkOutputs, withForceOption } from '../write-safety.js';

const fmt = (v: number | undefined, d = 4) => (v === undefined ? '-' : v.toFixed(d));

// Each learning rate schedule's numeric flags: one table, also the flag list of its --help group.
const SGD_FLAGS = numberOptions({
  sgd_patience: { int: true, min: 1, describe: 'Patience of learning rate reduction in epochs (10)' },
  sgd_lr: { min: 0, aboveMin: true, default: 0.1, describe: 'Initial learning rate' },
  sgd_min_lr: { min: 0, describe: 'Minimum learning rate (1e-4)' },
});
const SGDR_FLAGS = numberOptions({
  sgdr_base_len: { int: true, min: 1, describe: 'Length of first cycle in epochs (12)' },
  sgdr_mul: { int: true, min: 1, describe: 'Multiplier for cycle length after each cycle (2)' },
  sgdr_max_lr: { min: 0, aboveMin: true, describe: 'Maximum learning rate (0.1)' },
  sgdr_min_lr: { min: 0, describe: 'Minimum learning rate (1e-6, fixed in the reference)' },
});
const CLR_FLAGS = numberOptions({
  clr_step_len: { int: true, min: 1, describe: 'Length of each step in epochs (12)' },
  clr_min_lr: { min: 0, describe: 'Minimum learning rate (1e-5)' },
  clr_max_lr: { min: 0, aboveMin: true, describe: 'Maximum learning rate (0.1)' },
});

export const command = 'learn-image-embeddings';
export const describe = 'Learn to map images onto class embeddings (reference: learn_image_embeddings.py)';

export const builder = (y: Argv) =>
  withProgressOptions(
    withForceOption(y)
      .group(['dataset', 'data_root', 'embedding', 'limit'], 'Data parameters:')
      .option('dataset', {
        type: 'string',
        demandOption: true,
        describe: 'FashionMNIST, CIFAR-10, CIFAR-100, CIFAR-100-a/-b, folder[-ilsvrcmean|-caffe]',
      })
      .option('data_root', {
        type: 'string',
        describe: 'Dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist)',
      })
      .option('embedding', {
        type: 'string',
        demandOption: true,
        describe: 'Class embedding file (.json or the reference .pickle), or "onehot"',
      })
      .option(
        'limit',
        intOption('limit', { min: 1, describe: 'Use only the first N images of each split (quick runs)' }),
      )
      .group(
        [
          'architecture',
          'loss',
          'cls_weight',
          'cls_base',
          'lr_schedule',
          'clipgrad',
          'max_decay',
          'nesterov',
          'epochs',
          'batch_size',
          'val_batch_size',
          'snapshot',
          'finetune',
          'finetune_init',
          'seed',
          'backend',
          'gpu_adapter',
          'workers',
          'augment',
          'validate',
        ],
        'Training parameters:',
      )
      .option('architecture', {
        type: 'string',
        describe: 'Network architecture (default: fashion-cnn for FashionMNIST, else simple)',
      })
      .option('loss', {
        choices: LOSSES,
        default: 'inv_corr' as const,
        describe: 'inv_corr (L2-normalised, 1 - dot), mse, unnorm_corr, softmax_corr',
      })
      .option(
        'cls_weight',
        numberOption('cls_weight', {
          min: 0,
          default: 0,
          describe: 'Weight of an extra softmax classification loss (0: none)',
        }),
      )
      .option('cls_base', {
        type: 'string',
        describe: 'Layer name or index the classifier is based on (default: the embedding)',
      })
      .option('lr_schedule', { choices: LR_SCHEDULES, default: 'SGDR' as const, describe: 'Learning rate schedule' })
      .options(
        numberOptions({
          clipgrad: { min: 0, default: 10, describe: 'Gradient norm clipping (global norm)' },
          max_decay: { min: 0, default: 0, describe: 'Learning rate decay at the end of training' },
        }),
      )
      .option('nesterov', { type: 'boolean', default: false, describe: 'Nesterov momentum' })
      .options(
        numberOptions({
          epochs: { int: true, min: 1, describe: "Training epochs (default: the schedule's, SGDR 372)" },
          batch_size: { int: true, min: 1, default: 100, describe: 'Batch size' },
          val_batch_size: { int: true, min: 1, describe: 'Validation batch size (default: batch_size)' },
        }),
      )
      .option('snapshot', {
        type: 'string',
        describe: 'Snapshot file written after every epoch (and on Ctrl-C); resumed from when it exists',
      })
      .option('finetune', {
        type: 'string',
        describe: 'Keras .h5 with pre-trained weights (loaded by layer name, mismatches skipped)',
      })
      .options(
        numberOptions({
          finetune_init: { int: true, min: 0, default: 8, describe: 'Epochs training only the new layers first' },
          seed: {
            int: true,
            min: 0,
            default: 0,
            describe:
              'Seed for initial weights, shuffling and augmentation (same seed, same result on one backend and --workers count)',
          },
        }),
      )
      .option('backend', { choices: BACKEND_NAMES, default: 'auto' as const, describe: 'TensorFlow.js backend' })
      .option('gpu_adapter', {
        choices: ['high-performance', 'low-power'] as const,
        default: 'high-performance' as const,
        describe: 'WebGPU adapter to ask Dawn for (--backend webgpu; high-performance = the discrete GPU)',
      })
      .option(
        'workers',
        workersOption(
          'Threads sharing every batch on the wasm/cpu backends (data-parallel; auto = usable cores, at most 4; 1 = this thread only)',
        ),
      )
      .option('augment', {
        type: 'boolean',
        default: true,
        describe: "The reference's training augmentation (--no-augment to disable)",
      })
      .option('validate', {
        type: 'boolean',
        default: true,
        describe: 'Evaluate on the test split after every epoch (--no-validate to skip)',
      })
      .group(['model_dump', 'weight_dump', 'feature_dump', 'no_progress'], 'Output parameters:')
      .option('model_dump', { type: 'string', describe: 'Keras-2 .h5 with model definition and weights' })
      .option('weight_dump', { type: 'string', describe: 'Keras-2 .h5 with the weights only' })
      .option('feature_dump', {
        type: 'string',
        describe: 'Test-set embeddings (.npy float32; labels in <name>.labels.npy)',
      })
      .group([...Object.keys(SGD_FLAGS), 'sgd_schedule'], 'Parameters for --lr_schedule=SGD:')
      .options(SGD_FLAGS)
      .option('sgd_schedule', {
        type: 'string',
        describe: 'epoch:lr pairs, e.g. "1:0.1,31:0.01,41:0.001,50" (trailing number = epochs)',
      })
      .group(Object.keys(SGDR_FLAGS), 'Parameters for --lr_schedule=SGDR:')
      .options(SGDR_FLAGS)
      .group(Object.keys(CLR_FLAGS), 'Parameters for --lr_schedule=CLR:')
      .options(CLR_FLAGS)
      .example(
        '$0 learn-image-embeddings --dataset FashionMNIST --embedding fashion.unitsphere.json --cls_weight 0.1 ' +
          '--lr_schedule SGD --sgd_schedule "1:0.1,4:0.01,6" --model_dump fashion.h5 --feature_dump fashion.npy',
        'a few minutes on 2 cores',
      )
      .example(
        '$0 learn-image-embeddings --dataset CIFAR-100 --data_root /data/cifar-100-python ' +
          '--embedding embeddings/cifar100.unitsphere.pickle --architecture resnet-110-fc --cls_weight 0.1 --model_dump cifar.h5',
        'the reference README command (needs a GPU backend to finish in reasonable time)',
      ),
    'progress display',
  );

/** learn_image_embeddings.py: train a CNN to map images onto class embeddings. */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  // Checked before training: an hour of training must not end in replacing the model the user fine-tunes from.
  const inputs = [
    { path: a.embedding === 'onehot' ? undefined : a.embedding, flag: '--embedding' },
    { path: a.finetune, flag: '--finetune' },
    { path: a.snapshot, flag: '--snapshot' },
  ];
  const labelsDump = a.feature_dump
    ? (a.feature_dump.endsWith('.npy') ? a.feature_dump.slice(0, -4) : a.feature_dump) + '.labels.npy'
    : undefined;
  checkOutputs(
    [
      { path: a.model_dump, flag: '--model_dump' },
      { path: a.weight_dump, flag: '--weight_dump' },
      { path: a.feature_dump, flag: '--feature_dump' },
      { path: labelsDump, flag: 'the labels beside --feature_dump' },
    ],
    inputs,
    a.force,
  );
  const [{ train, BACKEND_NAMES: backends }, { startProgressBar }] = await Promise.all([
    import('@semembed/trainer'),
    import('../progress.js'),
  ]);
  const backend = backends.find((b) => b === a.backend);
  if (backend === undefined) throw new UsageError(`--backend ${a.backend}: this trainer offers ${backends.join(', ')}`);
  const progress = showProgress(a);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    console.error(
      '\nsemembed: interrupted, finishing the current batch and writing a snapshot (Ctrl-C again to quit at once)',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  let bar: ProgressBar | undefined;
  let barEpoch = -1;
  const onProgress = (e: ProgressEvent) => {
    if (barEpoch !== e.epoch || !bar) {
      bar?.stop();
      const format =
        `Epoch ${e.epoch + 1}/${e.epochs} [{bar}] {value}/{total} | loss {loss} | emb acc {emb} | cls acc {cls} ` +
        '| lr {lr} | {ips} img/s | ETA {eta_formatted}';
      bar = startProgressBar(progress, format, e.batches, {
        payload: { loss: '-', emb: '-', cls: '-', lr: '-', ips: '-' },
        clearOnComplete: true,
      });
      barEpoch = e.epoch;
    }
    bar.update(e.batch, {
      loss: fmt(e.loss),
      emb: fmt(e.embAcc),
      cls: fmt(e.clsAcc),
      lr: e.lr.toPrecision(3),
      ips: e.imgPerSec.toFixed(0),
    });
  };
  const onEpochEnd = (l: EpochLog) => {
    bar?.stop();
    bar = undefined;
    if (!progress) return;
    const val =
      l.valLoss !== undefined
        ? ` - val_loss: ${fmt(l.valLoss)} - val_emb_acc: ${fmt(l.valEmbAcc)}` +
          (l.valClsAcc !== undefined ? ` - val_cls_acc: ${fmt(l.valClsAcc)}` : '')
        : '';
    console.log(
      `Epoch ${l.epoch + 1} - ${l.seconds.toFixed(0)}s (${l.imgPerSec.toFixed(0)} img/s) - lr: ${l.lr.toPrecision(3)} ` +
        `- loss: ${fmt(l.loss)} - emb_acc: ${fmt(l.embAcc)}` +
        `${l.clsAcc !== undefined ? ` - cls_acc: ${fmt(l.clsAcc)}` : ''}${val}`,
    );
  };
  try {
    const res = await train({
      dataset: a.dataset,
      dataRoot: a.data_root,
      embedding: a.embedding,
      architecture: a.architecture,
      loss: a.loss,
      clsWeight: a.cls_weight,
      clsBase: a.cls_base,
      lrSchedule: a.lr_schedule,
      clipgrad: a.clipgrad,
      maxDecay: a.max_decay,
      nesterov: a.nesterov,
      epochs: a.epochs,
      batchSize: a.batch_size,
      valBatchSize: a.val_batch_size,
      snapshot: a.snapshot,
      finetune: a.finetune,
      finetuneInit: a.finetune_init,
      modelDump: a.model_dump,
      weightDump: a.weight_dump,
      featureDump: a.feature_dump,
      sgdPatience: a.sgd_patience,
      sgdLr: a.sgd_lr,
      sgdMinLr: a.sgd_min_lr,
      sgdSchedule: a.sgd_schedule,
      sgdrBaseLen: a.sgdr_base_len,
      sgdrMul: a.sgdr_mul,
      sgdrMaxLr: a.sgdr_max_lr,
      sgdrMinLr: a.sgdr_min_lr,
      clrStepLen: a.clr_step_len,
      clrMinLr: a.clr_min_lr,
      clrMaxLr: a.clr_max_lr,
      seed: a.seed,
      backend,
      gpuAdapter: a.gpu_adapter,
      workers: a.workers,
      limit: a.limit,
      augment: a.augment,
      validate: a.validate,
      signal: controller.signal,
      onProgress,
      onEpochEnd,
      onLog: (line) => {
        // --no_progress: only the final performance (and files written), as the reference.
        if (!progress && !/^(\[|Test:|Average Accuracy|Wrote|Interrupted|Resuming)/.test(line)) return;
        console.log(line);
      },
    });
    if (res.stopped) {
      // 130 = terminated by Ctrl-C (shell convention); set at exit because the CLI entry sets the exit code
      // from main()'s return value afterwards.
      process.once('exit', () => {
        process.exitCode = 130;
      });
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
}

/** The command as one object, for callers that parse with it directly (test/flags.test.ts). */
export const learnImageEmbeddingsCommand = { command, describe, builder, handler };

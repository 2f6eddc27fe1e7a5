import cliProgress from 'cli-progress';
import type { Argv } from 'yargs';
import { BACKEND_NAMES, LOSSES, LR_SCHEDULES, train, type BackendName, type EpochLog, type LossName, type ProgressEvent } from '@semembed/trainer';
import type { Command } from '../index.js';
import { UsageError } from '../errors.js';
import { parseWorkers } from '../options.js';

interface Args {
  dataset: string;
  data_root?: string;
  embedding: string;
  architecture?: string;
  loss: LossName;
  cls_weight: number;
  cls_base?: string;
  lr_schedule: string;
  clipgrad: number;
  max_decay: number;
  nesterov: boolean;
  epochs?: number;
  batch_size: number;
  val_batch_size?: number;
  snapshot?: string;
  finetune?: string;
  finetune_init: number;
  model_dump?: string;
  weight_dump?: string;
  feature_dump?: string;
  no_progress: boolean;
  sgd_patience?: number;
  sgd_lr: number;
  sgd_min_lr?: number;
  sgd_schedule?: string;
  sgdr_base_len?: number;
  sgdr_mul?: number;
  sgdr_max_lr?: number;
  sgdr_min_lr?: number;
  clr_step_len?: number;
  clr_min_lr?: number;
  clr_max_lr?: number;
  seed: number;
  backend: BackendName;
  workers: string;
  limit?: number;
  augment: boolean;
  validate: boolean;
}

const fmt = (v: number | undefined, d = 4) => (v === undefined ? '-' : v.toFixed(d));

/** learn_image_embeddings.py: train a CNN to map images onto class embeddings. */
export const learnImageEmbeddingsCommand: Command = {
  register: (cli: Argv) =>
    cli.command(
      'learn-image-embeddings',
      'Learn to map images onto class embeddings (reference: learn_image_embeddings.py)',
      (y) =>
        y
          .group(['dataset', 'data_root', 'embedding', 'limit'], 'Data parameters:')
          .option('dataset', { type: 'string', demandOption: true, describe: 'FashionMNIST, CIFAR-10, CIFAR-100, CIFAR-100-a/-b, folder[-ilsvrcmean|-caffe]' })
          .option('data_root', { alias: 'data-root', type: 'string', describe: 'Dataset folder (FashionMNIST default: /usr/share/datasets/fashion-mnist)' })
          .option('embedding', { type: 'string', demandOption: true, describe: 'Class embedding file (.json or the reference .pickle), or "onehot"' })
          .option('limit', { type: 'number', describe: 'Use only the first N images of each split (quick runs)' })
          .group(
            ['architecture', 'loss', 'cls_weight', 'cls_base', 'lr_schedule', 'clipgrad', 'max_decay', 'nesterov', 'epochs', 'batch_size', 'val_batch_size', 'snapshot', 'finetune', 'finetune_init', 'seed', 'backend', 'workers', 'augment', 'validate'],
            'Training parameters:',
          )
          .option('architecture', { type: 'string', describe: 'Network architecture (default: fashion-cnn for FashionMNIST, else simple)' })
          .option('loss', { type: 'string', choices: LOSSES, default: 'inv_corr', describe: 'inv_corr (L2-normalised, 1 - dot), mse, unnorm_corr, softmax_corr' })
          .option('cls_weight', { alias: 'cls-weight', type: 'number', default: 0, describe: 'Weight of an extra softmax classification loss (0: none)' })
          .option('cls_base', { alias: 'cls-base', type: 'string', describe: 'Layer name or index the classifier is based on (default: the embedding)' })
          .option('lr_schedule', { alias: 'lr-schedule', type: 'string', choices: LR_SCHEDULES, default: 'SGDR', describe: 'Learning rate schedule' })
          .option('clipgrad', { type: 'number', default: 10, describe: 'Gradient norm clipping (global norm)' })
          .option('max_decay', { alias: 'max-decay', type: 'number', default: 0, describe: 'Learning rate decay at the end of training' })
          .option('nesterov', { type: 'boolean', default: false, describe: 'Nesterov momentum' })
          .option('epochs', { type: 'number', describe: 'Training epochs (default: the schedule\'s, SGDR 372)' })
          .option('batch_size', { alias: 'batch-size', type: 'number', default: 100 })
          .option('val_batch_size', { alias: 'val-batch-size', type: 'number', describe: 'Default: batch_size' })
          .option('snapshot', { type: 'string', describe: 'Snapshot file written after every epoch (and on Ctrl-C); resumed from when it exists' })
          .option('finetune', { type: 'string', describe: 'Keras .h5 with pre-trained weights (loaded by layer name, mismatches skipped)' })
          .option('finetune_init', { alias: 'finetune-init', type: 'number', default: 8, describe: 'Epochs training only the new layers first' })
          .option('seed', { type: 'number', default: 0, describe: 'Seed for initial weights, shuffling and augmentation (same seed, same result on one backend and --workers count)' })
          .option('backend', { type: 'string', choices: BACKEND_NAMES, default: 'auto', describe: 'TensorFlow.js backend' })
          .option('workers', {
            type: 'string',
            default: 'auto',
            describe: 'Threads sharing every batch on the wasm/cpu backends (data-parallel; auto = usable cores, at most 4; 1 = this thread only)',
          })
          .option('augment', { type: 'boolean', default: true, describe: 'The reference\'s training augmentation (--no-augment to disable)' })
          .option('validate', { type: 'boolean', default: true, describe: 'Evaluate on the test split after every epoch (--no-validate to skip)' })
          .group(['model_dump', 'weight_dump', 'feature_dump', 'no_progress'], 'Output parameters:')
          .option('model_dump', { alias: 'model-dump', type: 'string', describe: 'Keras-2 .h5 with model definition and weights' })
          .option('weight_dump', { alias: 'weight-dump', type: 'string', describe: 'Keras-2 .h5 with the weights only' })
          .option('feature_dump', { alias: 'feature-dump', type: 'string', describe: 'Test-set embeddings (.npy float32; labels in <name>.labels.npy)' })
          .option('no_progress', { alias: 'no-progress', type: 'boolean', default: false, describe: 'No progress display, just the final performance' })
          .group(['sgd_patience', 'sgd_lr', 'sgd_min_lr', 'sgd_schedule'], 'Parameters for --lr_schedule=SGD:')
          .option('sgd_patience', { type: 'number', describe: 'Patience of learning rate reduction in epochs (10)' })
          .option('sgd_lr', { type: 'number', default: 0.1, describe: 'Initial learning rate' })
          .option('sgd_min_lr', { type: 'number', describe: 'Minimum learning rate (1e-4)' })
          .option('sgd_schedule', { type: 'string', describe: 'epoch:lr pairs, e.g. "1:0.1,31:0.01,41:0.001,50" (trailing number = epochs)' })
          .group(['sgdr_base_len', 'sgdr_mul', 'sgdr_max_lr', 'sgdr_min_lr'], 'Parameters for --lr_schedule=SGDR:')
          .option('sgdr_base_len', { type: 'number', describe: 'Length of first cycle in epochs (12)' })
          .option('sgdr_mul', { type: 'number', describe: 'Multiplier for cycle length after each cycle (2)' })
          .option('sgdr_max_lr', { type: 'number', describe: 'Maximum learning rate (0.1)' })
          .option('sgdr_min_lr', { type: 'number', describe: 'Minimum learning rate (1e-6, fixed in the reference)' })
          .group(['clr_step_len', 'clr_min_lr', 'clr_max_lr'], 'Parameters for --lr_schedule=CLR:')
          .option('clr_step_len', { type: 'number', describe: 'Length of each step in epochs (12)' })
          .option('clr_min_lr', { type: 'number', describe: 'Minimum learning rate (1e-5)' })
          .option('clr_max_lr', { type: 'number', describe: 'Maximum learning rate (0.1)' })
          .example(
            '$0 learn-image-embeddings --dataset FashionMNIST --embedding fashion.unitsphere.json --cls_weight 0.1 --lr_schedule SGD --sgd_schedule "1:0.1,4:0.01,6" --model_dump fashion.h5 --feature_dump fashion.npy',
            'a few minutes on 2 cores',
          )
          .example(
            '$0 learn-image-embeddings --dataset CIFAR-100 --data_root /data/cifar-100-python --embedding embeddings/cifar100.unitsphere.pickle --architecture resnet-110-fc --cls_weight 0.1 --model_dump cifar.h5',
            'the reference README command (needs a GPU backend to finish in reasonable time)',
          ),
      (argv) => run(argv as unknown as Args),
    ),
};

async function run(a: Args): Promise<void> {
  for (const [flag, v] of [['--epochs', a.epochs], ['--batch_size', a.batch_size], ['--val_batch_size', a.val_batch_size], ['--limit', a.limit]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new UsageError(`${flag} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(a.finetune_init) || a.finetune_init < 0) throw new UsageError(`--finetune_init must be a non-negative integer, got ${a.finetune_init}`);
  const showBar = !a.no_progress && process.stderr.isTTY === true;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    console.error('\nsemembed: interrupted, finishing the current batch and writing a snapshot (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  let bar: cliProgress.SingleBar | undefined;
  let barEpoch = -1;
  const onProgress = (e: ProgressEvent) => {
    if (!showBar) return;
    if (barEpoch !== e.epoch || !bar) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `Epoch ${e.epoch + 1}/${e.epochs} [{bar}] {value}/{total} | loss {loss} | emb acc {emb} | cls acc {cls} | lr {lr} | {ips} img/s | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(e.batches, 0, { loss: '-', emb: '-', cls: '-', lr: '-', ips: '-' });
      barEpoch = e.epoch;
    }
    bar.update(e.batch, { loss: fmt(e.loss), emb: fmt(e.embAcc), cls: fmt(e.clsAcc), lr: e.lr.toPrecision(3), ips: e.imgPerSec.toFixed(0) });
  };
  const onEpochEnd = (l: EpochLog) => {
    bar?.stop();
    bar = undefined;
    if (a.no_progress) return;
    const val = l.valLoss !== undefined ? ` - val_loss: ${fmt(l.valLoss)} - val_emb_acc: ${fmt(l.valEmbAcc)}${l.valClsAcc !== undefined ? ` - val_cls_acc: ${fmt(l.valClsAcc)}` : ''}` : '';
    console.log(
      `Epoch ${l.epoch + 1} - ${l.seconds.toFixed(0)}s (${l.imgPerSec.toFixed(0)} img/s) - lr: ${l.lr.toPrecision(3)} - loss: ${fmt(l.loss)} - emb_acc: ${fmt(l.embAcc)}` +
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
      backend: a.backend,
      workers: parseWorkers(a.workers),
      limit: a.limit,
      augment: a.augment,
      validate: a.validate,
      signal: controller.signal,
      onProgress,
      onEpochEnd,
      onLog: (line) => {
        // --no_progress: only the final performance (and files written), as the reference.
        if (a.no_progress && !/^(\[|Test:|Average Accuracy|Wrote|Interrupted|Resuming)/.test(line)) return;
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

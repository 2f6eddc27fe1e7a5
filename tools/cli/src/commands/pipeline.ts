import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import type { ArgsOf } from '../command.js';
import { EMBEDDING_METHODS } from '../choices.js';
import { checkOptions, paths, type PipelineOptions } from '../pipeline/steps.js';
import { numberOptions, showProgress, withProgressOptions, workersOption } from '../options.js';

export const command = ['pipeline', 'run'];
export const describe =
  'Run the whole method end to end: class embeddings, training (+ a classification baseline), ONNX export, features, evaluation, report';

export const builder = (y: Argv) =>
  withProgressOptions(
    y
      .option('out', {
        type: 'string',
        default: 'runs/fashion-mnist',
        describe: 'Folder for every output (models, features, report)',
      })
      .option('dataset', {
        type: 'string',
        default: 'FashionMNIST',
        describe: 'FashionMNIST, CIFAR-10, CIFAR-100, folder, ...',
      })
      .option('data_root', {
        type: 'string',
        describe: 'Dataset folder (default for FashionMNIST: /usr/share/datasets/fashion-mnist)',
      })
      .option('hierarchy', {
        type: 'string',
        describe: "Taxonomy file (default: the repository's hierarchies/fashion-mnist/fashion-mnist.parent-child.txt)",
      })
      .option('class_names', {
        type: 'string',
        describe: 'Class names file ("id name" lines; default: class_names.txt beside the taxonomy)',
      })
      .option('is_a', { type: 'boolean', default: false })
      .option('str_ids', { type: 'boolean', default: false })
      .option('method', {
        choices: EMBEDDING_METHODS,
        default: 'unitsphere' as const,
        describe: 'Class embedding method',
      })
      .option('architecture', {
        type: 'string',
        describe: 'Network (default: fashion-cnn for Fashion-MNIST, simple otherwise)',
      })
      .options(
        numberOptions({
          epochs: {
            int: true,
            min: 1,
            default: 8,
            describe: 'Epochs for each model (one SGDR cosine cycle over the run)',
          },
          baseline_epochs: { int: true, min: 1, describe: 'Epochs for the baseline (default: --epochs)' },
          batch_size: { int: true, min: 1, default: 100 },
          cls_weight: { min: 0, default: 0.1, describe: 'Weight of the classification head of the semantic model' },
        }),
      )
      .option('backend', {
        type: 'string',
        default: 'auto',
        describe: 'TensorFlow.js backend: auto|tensorflow-gpu|tensorflow|wasm|cpu',
      })
      .option(
        'workers',
        workersOption('Threads sharing every training batch on wasm/cpu (auto = usable cores, at most 4)'),
      )
      .options(
        numberOptions({
          limit: { int: true, min: 1, describe: 'Use only the first N images of each split (quick trials)' },
          seed: { int: true, min: 0, default: 0 },
        }),
      )
      .option('baseline', {
        type: 'boolean',
        default: true,
        describe: 'Train and evaluate the classification-only baseline too (--no-baseline skips it)',
      })
      .option('force', { type: 'boolean', default: false, describe: 'Redo steps whose outputs exist' })
      .options(
        numberOptions({ clip_ahp: { int: true, min: 1, default: 250 }, plot_max: { int: true, min: 0, default: 250 } }),
      )
      .example('$0 pipeline', 'the default: Fashion-MNIST, 2 models × 8 epochs, about 11 minutes on 2 quiet cores')
      .example('$0 pipeline --epochs 20 --out runs/fm-20', 'longer training'),
    'progress bars (logs only)',
  );

/** The main job: the whole method end to end, by default on the embedded Fashion-MNIST. */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  // The default taxonomy ships with the repository: find it from this file, wherever the CLI is started.
  const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
  const hierarchy = resolve(
    a.hierarchy ?? resolve(repoRoot, 'hierarchies/fashion-mnist/fashion-mnist.parent-child.txt'),
  );
  const defaultNames = resolve(hierarchy, '..', 'class_names.txt');
  const { existsSync } = await import('node:fs');
  const o: PipelineOptions = {
    out: a.out,
    dataset: a.dataset,
    dataRoot: a.data_root,
    hierarchy,
    classNames: a.class_names ?? (existsSync(defaultNames) ? defaultNames : undefined),
    isA: a.is_a,
    strIds: a.str_ids,
    architecture: a.architecture,
    epochs: a.epochs,
    baselineEpochs: a.baseline_epochs ?? a.epochs,
    batchSize: a.batch_size,
    clsWeight: a.cls_weight,
    method: a.method,
    backend: a.backend,
    workers: a.workers,
    limit: a.limit,
    seed: a.seed,
    baseline: a.baseline,
    force: a.force,
    progress: showProgress(a),
    clipAhp: a.clip_ahp,
    plotMax: a.plot_max,
  };
  checkOptions(o);
  const { runPipeline } = await import('../pipeline/run.js');
  const report = await runPipeline(o);
  const p = paths(o.out);
  const rel = (f: string) => relative(process.cwd(), f) || '.';
  console.log(`
Report:        ${rel(report)}/README.md  (metrics.json, hp-curve-*.svg/png, mahp-bars.svg/png)
ONNX model:    ${rel(p.semantic.onnx)} (+ ${rel(p.semantic.sidecar)})
Serve it:      npx semembed serve --model ${rel(p.semantic.onnx)} --gallery ${rel(p.semantic.features)} --web_root ${rel(p.site)}
               -> http://127.0.0.1:8080/ is the search page; POST /v1/classify, /v1/embed, /v1/search; GET /metrics

Scale it up:   --epochs N (longer training; the reference trains 372 epochs with SGDR), --architecture NAME
               (semembed learn-image-embeddings --help lists them), --dataset CIFAR-100 --data_root DIR
               --hierarchy hierarchies/Cifar-Hierarchy/cifar.parent-child.txt, --method approx_sim|mds|spheres,
               --backend tensorflow-gpu (with @tensorflow/tfjs-node-gpu installed), --force to redo steps.`);
}

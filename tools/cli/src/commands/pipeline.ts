import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import type { Command } from '../index.js';
import { checkOptions, paths, type PipelineOptions } from '../pipeline/steps.js';
import { parseWorkers } from '../options.js';

interface Args {
  out: string;
  dataset: string;
  data_root?: string;
  hierarchy?: string;
  class_names?: string;
  is_a: boolean;
  str_ids: boolean;
  architecture?: string;
  epochs: number;
  baseline_epochs?: number;
  batch_size: number;
  cls_weight: number;
  method: PipelineOptions['method'];
  backend?: string;
  workers: string;
  limit?: number;
  seed: number;
  baseline: boolean;
  force: boolean;
  progress: boolean;
  clip_ahp: number;
  plot_max: number;
}

/** The main job: the whole method end to end, by default on the embedded Fashion-MNIST. */
export const pipelineCommand: Command = {
  register: (cli: Argv) =>
    cli.command(
      ['pipeline', 'run'],
      'Run the whole method end to end: class embeddings, training (+ a classification baseline), ONNX export, features, evaluation, report',
      (y) =>
        y
          .option('out', { type: 'string', default: 'runs/fashion-mnist', describe: 'Folder for every output (models, features, report)' })
          .option('dataset', { type: 'string', default: 'FashionMNIST', describe: 'FashionMNIST, CIFAR-10, CIFAR-100, folder, ...' })
          .option('data_root', { alias: 'data-root', type: 'string', describe: 'Dataset folder (default for FashionMNIST: /usr/share/datasets/fashion-mnist)' })
          .option('hierarchy', { type: 'string', describe: 'Taxonomy file (default: the repository\'s hierarchies/fashion-mnist/fashion-mnist.parent-child.txt)' })
          .option('class_names', { alias: 'class-names', type: 'string', describe: 'Class names file ("id name" lines; default: class_names.txt beside the taxonomy)' })
          .option('is_a', { alias: 'is-a', type: 'boolean', default: false })
          .option('str_ids', { alias: 'str-ids', type: 'boolean', default: false })
          .option('method', { type: 'string', choices: ['unitsphere', 'approx_sim', 'mds', 'spheres'], default: 'unitsphere', describe: 'Class embedding method' })
          .option('architecture', { type: 'string', describe: 'Network (default: fashion-cnn for Fashion-MNIST, simple otherwise)' })
          .option('epochs', { type: 'number', default: 8, describe: 'Epochs for each model (one SGDR cosine cycle over the run)' })
          .option('baseline_epochs', { alias: 'baseline-epochs', type: 'number', describe: 'Epochs for the baseline (default: --epochs)' })
          .option('batch_size', { alias: 'batch-size', type: 'number', default: 100 })
          .option('cls_weight', { alias: 'cls-weight', type: 'number', default: 0.1, describe: 'Weight of the classification head of the semantic model' })
          .option('backend', { type: 'string', default: 'auto', describe: 'TensorFlow.js backend: auto|tensorflow-gpu|tensorflow|wasm|cpu' })
          .option('workers', { type: 'string', default: 'auto', describe: 'Threads sharing every training batch on wasm/cpu (auto = usable cores, at most 4)' })
          .option('limit', { type: 'number', describe: 'Use only the first N images of each split (quick trials)' })
          .option('seed', { type: 'number', default: 0 })
          .option('baseline', { type: 'boolean', default: true, describe: 'Train and evaluate the classification-only baseline too (--no-baseline skips it)' })
          .option('force', { type: 'boolean', default: false, describe: 'Redo steps whose outputs exist' })
          .option('progress', { type: 'boolean', default: true, describe: 'Progress bars (--no-progress for logs only)' })
          .option('clip_ahp', { alias: 'clip-ahp', type: 'number', default: 250 })
          .option('plot_max', { alias: 'plot-max', type: 'number', default: 250 })
          .example('$0 pipeline', 'the default: Fashion-MNIST, 2 models × 8 epochs, about 13 minutes on 2 cores')
          .example('$0 pipeline --epochs 20 --out runs/fm-20', 'longer training'),
      (argv) => run(argv as unknown as Args),
    ),
};

async function run(a: Args): Promise<void> {
  // The default taxonomy ships with the repository: find it from this file, wherever the CLI is started.
  const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
  const hierarchy = resolve(a.hierarchy ?? resolve(repoRoot, 'hierarchies/fashion-mnist/fashion-mnist.parent-child.txt'));
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
    workers: parseWorkers(a.workers),
    limit: a.limit,
    seed: a.seed,
    baseline: a.baseline,
    force: a.force,
    progress: a.progress,
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

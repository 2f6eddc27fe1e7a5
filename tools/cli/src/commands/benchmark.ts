import type { Argv } from 'yargs';
import type { ArgsOf } from '../command.js';
import { FlagError, intOption, numberOptions, showProgress, withProgressOptions } from '../options.js';
import { checkInputs, checkOutputs, withForceOption } from '../write-safety.js';

const list =
  (flag: string) =>
  (v: unknown): string[] => {
    const s = (Array.isArray(v) ? v : [v])
      .flatMap((x) => String(x).split(','))
      .map((x) => x.trim())
      .filter(Boolean);
    if (!s.length) throw new FlagError(`--${flag}: give a comma-separated list`);
    return s;
  };

/** `--variants NAME=FILE.onnx[,NAME=FILE.onnx...]`: precision variants of MODEL, each run and compared too. */
const variants = (v: unknown): { name: string; onnx: string }[] =>
  list('variants')(v).map((item) => {
    const eq = item.indexOf('=');
    if (eq < 1 || eq === item.length - 1)
      throw new FlagError(`--variants: '${item}' is not NAME=FILE.onnx (e.g. int8=model.int8.onnx)`);
    return { name: item.slice(0, eq).trim(), onnx: item.slice(eq + 1).trim() };
  });

export const command = 'benchmark [model]';
export const describe =
  'Benchmark a model on every runtime here (latency, throughput, server QPS, cold start) with output parity';

export const builder = (y: Argv) =>
  withProgressOptions(
    withForceOption(y)
      .positional('model', {
        type: 'string',
        describe: 'model.onnx (+ sidecar), a Keras .h5 (converted, and run in TF.js), or an imported catalog name',
      })
      .option('runtimes', {
        type: 'string',
        describe: 'Runtimes to run (default: all; `--list` names them)',
        coerce: list('runtimes'),
      })
      .option('scenarios', {
        type: 'string',
        describe: 'single-stream,offline,server,cold-start (default: all)',
        coerce: list('scenarios'),
      })
      .option('batch', {
        type: 'string',
        default: '1,8,32',
        describe: 'Batch sizes of the offline scenario',
        coerce: list('batch'),
      })
      .option('variants', {
        type: 'string',
        describe:
          'Precision variants of MODEL (e.g. from semembed quantize), NAME=FILE.onnx[,...]: run on the ONNX ' +
          'runtimes, compared with the same reference outputs',
        coerce: variants,
      })
      .option('images', {
        type: 'string',
        describe: 'Labelled images (class subfolders) for mAHP / balanced accuracy per runtime',
      })
      .option('dataset', {
        type: 'string',
        describe:
          'Labelled test split (@semembed/datasets name, e.g. FashionMNIST, CIFAR-100); ' +
          "also the .h5 conversion's preprocessing",
      })
      .option('data_root', { type: 'string', describe: 'Folder of --dataset' })
      .option('hierarchy', { type: 'string', describe: 'Taxonomy of the labels ("parent child" lines): adds mAHP@250' })
      .option('limit', intOption('limit', { min: 1, default: 1000, describe: 'Labelled samples used (the first N)' }))
      .option('architecture', { type: 'string', describe: 'For a weights-only .h5: the reference architecture' })
      .options(
        numberOptions({
          tolerance: { min: 0, default: 1e-3, describe: 'Max |output - reference| before a runtime is flagged' },
          latency_bound_ms: { min: 0, aboveMin: true, default: 100, describe: 'Server scenario: p99 bound' },
          accuracy_samples: {
            int: true,
            min: 1,
            describe: 'Samples compared with the reference (default 32; 8 with --quick)',
          },
          max_batch_size: { int: true, min: 1, default: 32, describe: 'server runtime: dynamic batching limit' },
          max_queue_delay_ms: { min: 0, default: 2, describe: 'server runtime: batching delay' },
        }),
      )
      .option('quick', { type: 'boolean', default: false, describe: 'Short loops (smoke runs, CI)' })
      .option('json', { type: 'string', describe: 'Write every figure and the environment as JSON (schema: --schema)' })
      .option('report', { type: 'string', describe: 'Folder for README.md with the table and plots (SVG + PNG)' })
      .option('compare', { type: 'string', describe: 'An earlier --json: print ratios and flag regressions' })
      .option('list', { type: 'boolean', default: false, describe: 'List the runtimes and exit' })
      .option('schema', { type: 'boolean', default: false, describe: 'Print the JSON Schema of --json and exit' }),
    'progress bars',
  ).example(
    '$0 benchmark model.onnx --runtimes ort-node-cpu,chromium-wasm --json bench.json --report bench/',
    'two runtimes, JSON and report',
  );

/** `semembed benchmark MODEL`: every runtime, four scenarios, accuracy beside speed (@semembed/benchmark). */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  // Loaded here: ONNX Runtime, TF.js and playwright would slow every other subcommand's start.
  const bm = await import('@semembed/benchmark');
  if (a.schema) {
    process.stdout.write(`${JSON.stringify(bm.RESULT_SCHEMA, null, 2)}\n`);
    return;
  }
  if (a.list) {
    for (const id of Object.keys(bm.RUNNERS)) process.stdout.write(`${id}\n`);
    return;
  }
  // A bad MODEL, list value or --compare file exits 2 (FlagError) before any runner starts.
  await preflight(a);
  const options = benchmarkOptions(a);
  const old = a.compare ? bm.readResult(a.compare) : undefined;
  const res = await bm.runBenchmark(options);
  process.stdout.write(`${bm.terminalTable(res)}\n`);
  if (old) process.stdout.write(`\n${bm.formatComparison(bm.compareResults(old, res))}\n`);
  if (a.json) {
    bm.writeJson(res, a.json);
    console.error(`wrote ${a.json}`);
  }
  if (a.report) console.error(`wrote ${await bm.writeReport(res, a.report)}`);
}

interface Flags {
  model?: string;
  runtimes?: string[];
  scenarios?: string[];
  batch: string[];
  variants?: { name: string; onnx: string }[];
  images?: string;
  dataset?: string;
  data_root?: string;
  hierarchy?: string;
  limit: number;
  architecture?: string;
  tolerance: number;
  latency_bound_ms: number;
  accuracy_samples?: number;
  max_batch_size: number;
  max_queue_delay_ms: number;
  quick: boolean;
  json?: string;
  report?: string;
  compare?: string;
  force: boolean;
  list: boolean;
  schema: boolean;
  progress: boolean;
  no_progress: boolean;
}

function benchmarkOptions(a: Flags): import('@semembed/benchmark').BenchmarkOptions {
  const batches = a.batch.map((b) => {
    const n = Number(b);
    if (!Number.isInteger(n) || n < 1) throw new FlagError(`--batch: '${b}' is not a positive integer`);
    return n;
  });
  return {
    model: a.model!,
    runtimes: a.runtimes,
    scenarios: a.scenarios as import('@semembed/benchmark').Scenario[] | undefined,
    batches,
    variants: a.variants,
    tolerance: a.tolerance,
    latencyBoundMs: a.latency_bound_ms,
    quick: a.quick,
    accuracySamples: a.accuracy_samples,
    maxBatchSize: a.max_batch_size,
    maxQueueDelayMs: a.max_queue_delay_ms,
    dataset: a.dataset,
    architecture: a.architecture,
    progress: showProgress(a),
    data:
      a.images || a.dataset
        ? {
            images: a.images,
            dataset: a.images ? undefined : a.dataset,
            dataRoot: a.data_root,
            hierarchy: a.hierarchy,
            limit: a.limit,
          }
        : undefined,
  };
}

/** Everything a user can get wrong, checked before the first runner starts (exit 2). */
async function preflight(a: Flags): Promise<void> {
  if (a.list || a.schema) return;
  if (!a.model) throw new FlagError('name the MODEL to benchmark (.onnx, .h5 or a catalog name)');
  const options = benchmarkOptions(a);
  const inputs = [
    { path: a.hierarchy, flag: '--hierarchy' },
    { path: a.compare, flag: '--compare' },
    { path: a.images, flag: '--images', folder: true },
  ];
  checkInputs(inputs);
  checkOutputs(
    [
      { path: a.json, flag: '--json' },
      { path: a.report, flag: '--report', folder: true },
    ],
    inputs,
    a.force,
  );
  const bm = await import('@semembed/benchmark');
  try {
    bm.checkOptions(options);
    bm.checkModelArg(a.model);
    if (a.compare) bm.readResult(a.compare);
  } catch (err) {
    if (err instanceof bm.BenchmarkError) throw new FlagError(err.message);
    throw err;
  }
}

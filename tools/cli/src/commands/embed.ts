import { spawn } from 'node:child_process';
import cliProgress from 'cli-progress';
import type { Argv } from 'yargs';
import type { Command } from '../index.js';
import { UsageError } from '../errors.js';

interface Args {
  model: string;
  input: string[];
  out: string;
  batch_size: number;
  ep: string;
  threads?: number;
  cuda_path?: string[];
  prob_out?: string;
  no_progress: boolean;
}

/** Images -> features .npy (+ ids / labels beside it) with an ONNX model, for evaluation and galleries. */
export const embedCommand: Command = {
  register: (cli: Argv) =>
    cli.command(
      'embed',
      'Embed images with an ONNX model: features .npy plus ids (and class-folder labels) beside it',
      (y) =>
        y
          .option('model', { type: 'string', demandOption: true, describe: 'model.onnx, its model.json sidecar, or their folder' })
          .option('input', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'Image files and/or folders (a folder of class subfolders gives labels = subfolder names)',
          })
          .option('out', { type: 'string', demandOption: true, describe: 'Features file (.npy, float32, one row per image)' })
          .option('batch_size', { alias: 'batch-size', type: 'number', default: 32, describe: 'Images per inference batch' })
          .option('prob_out', { alias: 'prob-out', type: 'string', describe: 'Also write class probabilities to this .npy (models with a prob output)' })
          .option('ep', { type: 'string', default: 'auto', describe: 'Execution providers to try in order: auto (= cuda,webgpu,cpu) or a list like webgpu,cpu' })
          .option('threads', { type: 'number', describe: 'CPU threads for ONNX Runtime (default: one per core)' })
          .option('cuda_path', {
            alias: 'cuda-path',
            type: 'string',
            array: true,
            describe: 'Folders with the ORT CUDA provider libraries and CUDA 12 / cuDNN 9 (see the runtime-node README)',
          })
          .option('no_progress', { alias: 'no-progress', type: 'boolean', default: false, describe: 'No progress bar' })
          .example('$0 embed --model models/fashion/model.onnx --input data/test --out test.npy', 'features + test.ids.txt + test.labels.txt'),
      (argv) => run(argv as unknown as Args),
    ),
};

async function run(a: Args): Promise<void> {
  if (!Number.isInteger(a.batch_size) || a.batch_size < 1) throw new UsageError(`--batch_size must be a positive integer, got ${a.batch_size}`);
  if (a.threads !== undefined && (!Number.isInteger(a.threads) || a.threads < 0)) throw new UsageError(`--threads must be a non-negative integer, got ${a.threads}`);
  if (!a.out.endsWith('.npy')) throw new UsageError(`--out ${a.out}: must end in .npy`);
  if (a.prob_out !== undefined && !a.prob_out.endsWith('.npy')) throw new UsageError(`--prob_out ${a.prob_out}: must end in .npy`);
  // Loaded here, not at the top: ONNX Runtime, sharp and fastify would slow every other subcommand's start.
  const { cudaPathSetup, describeReport, embedImages, listImages, loadModel } = await import('@semembed/runtime-node');
  const { writeFileAtomic, writeNpy } = await import('@semembed/formats');
  const cuda = cudaPathSetup(a.cuda_path ?? []);
  if (cuda.relaunchEnv) {
    process.exitCode = await relaunch(cuda.relaunchEnv);
    return;
  }
  const entries = listImages(a.input);
  const t0 = performance.now();
  const model = await loadModel(a.model, { ep: a.ep, threads: a.threads, cudaProviderDir: cuda.cudaProviderDir });
  console.error(describeReport(model.providers));
  if (a.prob_out && !model.probOutput) throw new UsageError(`--prob_out: model ${a.model} has no probabilities output`);
  const showBar = !a.no_progress && process.stderr.isTTY === true;
  const bar = showBar
    ? new cliProgress.SingleBar({ stream: process.stderr, format: 'embed [{bar}] {value}/{total} images | {eta_formatted} left | {rate} img/s', hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(entries.length, 0, { rate: '-' });
  const t1 = performance.now();
  let res;
  try {
    res = await embedImages(model, entries, {
      batchSize: a.batch_size,
      onProgress: (done) => bar?.update(done, { rate: (done / ((performance.now() - t1) / 1000)).toFixed(0) }),
    });
  } finally {
    bar?.stop();
    await model.release();
  }
  // Outputs are written only after every image succeeded, each atomically: no half-written feature files.
  writeNpy(a.out, { dtype: 'float32', shape: [res.n, res.dim], data: res.features });
  const base = a.out.slice(0, -'.npy'.length);
  writeFileAtomic(`${base}.ids.txt`, res.ids.join('\n') + '\n');
  if (res.labels) writeFileAtomic(`${base}.labels.txt`, res.labels.join('\n') + '\n');
  if (a.prob_out && res.probabilities) writeNpy(a.prob_out, { dtype: 'float32', shape: [res.n, res.probabilities.length / res.n], data: res.probabilities });
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `Wrote ${res.n} x ${res.dim} features to ${a.out}, ids to ${base}.ids.txt` +
      (res.labels ? `, labels (${new Set(res.labels).size} classes) to ${base}.labels.txt` : '') +
      (a.prob_out ? `, probabilities to ${a.prob_out}` : '') +
      ` in ${secs.toFixed(1)} s on ${model.providers.chosen}.`,
  );
}

/** Runs this same command again with LD_LIBRARY_PATH set (the loader reads it only at start). */
export function relaunch(env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env, stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

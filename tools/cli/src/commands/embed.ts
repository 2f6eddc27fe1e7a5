import { spawn } from 'node:child_process';
import type { Argv } from 'yargs';
import type { ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';
import { FlagError, intOption, showProgress, withProgressOptions } from '../options.js';
import { checkOutputs, withForceOption } from '../write-safety.js';

/** --ep, --threads, --cuda_path: shared by embed and serve. */
export function withRuntimeOptions<T>(y: Argv<T>) {
  return y
    .option('ep', {
      type: 'string',
      default: 'auto',
      describe: 'Execution providers to try in order: auto (= cuda,webgpu,cpu) or a list like webgpu,cpu',
    })
    .option(
      'threads',
      intOption('threads', { min: 0, describe: 'CPU threads for ONNX Runtime (default: one per core)' }),
    )
    .option('cuda_path', {
      type: 'string',
      array: true,
      describe: 'Folders with the ORT CUDA provider libraries and CUDA 12 / cuDNN 9 (see the runtime-node README)',
    });
}

const npyPath = (flag: string) => (v: string) => {
  if (!v.endsWith('.npy')) throw new FlagError(`--${flag} ${v}: must end in .npy`);
  return v;
};

export const command = 'embed';
export const describe = 'Embed images with an ONNX model: features .npy plus ids (and class-folder labels) beside it';

export const builder = (y: Argv) =>
  withProgressOptions(
    withRuntimeOptions(
      withForceOption(y)
        .option('model', {
          type: 'string',
          demandOption: true,
          describe: 'model.onnx, its model.json sidecar, or their folder',
        })
        .option('input', {
          type: 'string',
          array: true,
          demandOption: true,
          describe: 'Image files and/or folders (a folder of class subfolders gives labels = subfolder names)',
        })
        .option('out', {
          type: 'string',
          demandOption: true,
          describe: 'Features file (.npy, float32, one row per image)',
          coerce: npyPath('out'),
        })
        .option('batch_size', intOption('batch_size', { min: 1, default: 32, describe: 'Images per inference batch' }))
        .option('prob_out', {
          type: 'string',
          describe: 'Also write class probabilities to this .npy (models with a prob output)',
          coerce: npyPath('prob_out'),
        }),
    ),
    'progress bar',
  ).example(
    '$0 embed --model models/fashion/model.onnx --input data/test --out test.npy',
    'features + test.ids.txt + test.labels.txt',
  );

/** Images -> features .npy (+ ids / labels beside it) with an ONNX model, for evaluation and galleries. */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  const out = a.out;
  const side = out.slice(0, -'.npy'.length);
  checkOutputs(
    [
      { path: out, flag: '--out' },
      { path: `${side}.ids.txt`, flag: 'the ids file' },
      { path: `${side}.labels.txt`, flag: 'the labels file' },
      { path: a.prob_out, flag: '--prob_out' },
    ],
    [{ path: a.model, flag: '--model' }, ...a.input.map((p) => ({ path: p, flag: '--input' }))],
    a.force,
  );
  // Loaded here, not at the top: ONNX Runtime, sharp and fastify would slow every other subcommand's start.
  const { cudaPathSetup, describeReport, embedImages, listImages, loadModel } = await import('@semembed/runtime-node');
  const { writeFileAtomic, writeNpy } = await import('@semembed/formats');
  const { startProgressBar } = await import('../progress.js');
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
  const format = 'embed [{bar}] {value}/{total} images | {eta_formatted} left | {rate} img/s';
  const bar = startProgressBar(showProgress(a), format, entries.length, { payload: { rate: '-' } });
  const t1 = performance.now();
  let res;
  try {
    res = await embedImages(model, entries, {
      batchSize: a.batch_size,
      onProgress: (done) => bar.update(done, { rate: (done / ((performance.now() - t1) / 1000)).toFixed(0) }),
    });
  } finally {
    bar.stop();
    await model.release();
  }
  // Outputs are written only after every image succeeded, each atomically: no half-written feature files.
  writeNpy(out, { dtype: 'float32', shape: [res.n, res.dim], data: res.features });
  const base = out.slice(0, -'.npy'.length);
  writeFileAtomic(`${base}.ids.txt`, res.ids.join('\n') + '\n');
  if (res.labels) writeFileAtomic(`${base}.labels.txt`, res.labels.join('\n') + '\n');
  if (a.prob_out && res.probabilities)
    writeNpy(a.prob_out, {
      dtype: 'float32',
      shape: [res.n, res.probabilities.length / res.n],
      data: res.probabilities,
    });
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `Wrote ${res.n} x ${res.dim} features to ${out}, ids to ${base}.ids.txt` +
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

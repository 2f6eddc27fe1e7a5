import { basename, dirname, extname, join } from 'node:path';
import type { Argv } from 'yargs';
import type { ArgsOf } from '../command.js';
import { architectureOption, FlagError, showProgress, withProgressOptions } from '../options.js';
import { checkOutputs, pathArgs, withForceOption } from '../write-safety.js';
import { sidecarClasses } from '../sidecar-classes.js';
import { checkLambdas, commonConvertOptions, describeResult, modelFormArgs, runVerify } from './convert.js';

export const command = 'import [name]';
export const describe =
  'Download a released model of the reference (models/catalog.json) and convert it to ONNX; or import a local .h5 with --from';

export const builder = (y: Argv) =>
  withProgressOptions(
    commonConvertOptions(
      withForceOption(y)
        .positional('name', { type: 'string', describe: 'Catalog name (see --list)' })
        .option('from', { type: 'string', describe: 'Local .h5 to import instead of downloading' })
        .option('architecture', architectureOption)
        .option('dataset', { type: 'string', describe: 'Dataset name: mean/std and input size (e.g. CIFAR-100)' })
        .option('out', {
          type: 'string',
          describe: 'The .onnx to write (default: <cache>/<name>.onnx, or beside --from)',
        })
        .option('cache_dir', {
          type: 'string',
          describe: 'Download folder (default ~/.cache/semembed/models; env SEMEMBED_CACHE)',
        })
        .option('catalog', { type: 'string', describe: 'Catalog file (default models/catalog.json)' })
        .option('list', { type: 'boolean', default: false, describe: 'List the catalog and exit' })
        .option('verify', {
          type: 'boolean',
          default: true,
          describe: 'Compare every layer with the Keras model run in TensorFlow.js (--no-verify skips it)',
        }),
    ),
    'download progress bar',
  )
    .check((a) => {
      if (a.list || a.name || a.from) return true;
      throw new FlagError('name a catalog model (semembed import --list shows them) or give --from file.h5');
    })
    .example('$0 import cifar100-resnet-110-wfc', 'download and convert a released model')
    .example('$0 import --from cifar.model.h5 --architecture resnet-110-wfc --dataset CIFAR-100', 'offline');

/** Released models by catalog name (download + convert), or a local .h5 with --from (offline). */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  const { importModel, readCatalog, checkLambdaKind } = await import('@semembed/converter');
  checkLambdas(a.lambda, checkLambdaKind);
  if (a.list) {
    for (const m of readCatalog(a.catalog).models) {
      const pub = m.published;
      const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);
      console.log(
        `${m.name.padEnd(32)} ${m.dataset.padEnd(10)} ${m.architecture.padEnd(20)} ${m.inputSize.join('x').padEnd(8)} ` +
          `mAHP@250 ${pct(pub.mAHP250)}  balanced acc. ${pct(pub.balancedAccuracy)}`,
      );
    }
    return;
  }
  // `--from model.h5` writes model.onnx + model.json beside it: a Keras model.json there must not be replaced.
  // Imports into the cache (no --out, no --from) refresh it and are not checked.
  const out = a.out ?? (a.from ? join(dirname(a.from), `${basename(a.from, extname(a.from))}.onnx`) : undefined);
  if (out) {
    const { sidecarPathFor } = await import('@semembed/converter');
    const outputs = [
      { path: out, flag: a.out ? '--out' : 'the .onnx beside --from' },
      { path: sidecarPathFor(out), flag: 'the sidecar' },
    ];
    checkOutputs(outputs, pathArgs(a, ['from', 'embedding', 'class_names', 'hierarchy']), a.force);
  }
  const r = await importModel({
    name: a.name,
    from: a.from,
    architecture: a.architecture,
    dataset: a.dataset,
    out: a.out,
    cacheDir: a.cache_dir,
    catalogPath: a.catalog,
    progress: showProgress(a),
    ...modelFormArgs(a),
    ...(await sidecarClasses(a)),
  });
  console.log(describeResult(r));
  if (a.verify) {
    const source = r.sidecar.source as { architecture?: string; dataset?: string };
    const opts = { h5: r.h5Path, architecture: source.architecture, dataset: source.dataset };
    // The probe is converted with the preprocessing just written (the catalog's), so its sidecar is the same contract.
    await runVerify(a, { ...opts, preprocessing: r.sidecar.preprocessing, ...modelFormArgs(a) }, false);
  }
}

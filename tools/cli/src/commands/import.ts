import type { Argv } from 'yargs';
import { importModel, readCatalog } from '@semembed/converter';
import type { Command } from '../index.js';
import { UsageError } from '../errors.js';
import { commonConvertOptions, describeResult, layoutArg, parseLambdas, sidecarClasses } from './convert.js';

interface Args {
  name?: string;
  from?: string;
  architecture?: string;
  dataset?: string;
  out?: string;
  cache_dir?: string;
  catalog?: string;
  list: boolean;
  progress: boolean;
  opset: number;
  input_layout?: string;
  fp16: boolean;
  lambda?: string[];
  embedding?: string;
  class_names?: string;
  hierarchy?: string;
  is_a: boolean;
  str_ids: boolean;
}

/** Released models by catalog name (download + convert), or a local .h5 with --from (offline). */
export const importCommand: Command = {
  register: (cli: Argv) =>
    cli.command(
      'import [name]',
      'Download a released model of the reference (models/catalog.json) and convert it to ONNX; or import a local .h5 with --from',
      (y) =>
        commonConvertOptions(
          y
            .positional('name', { type: 'string', describe: 'Catalog name (see --list)' })
            .option('from', { type: 'string', describe: 'Local .h5 to import instead of downloading' })
            .option('architecture', { type: 'string', describe: 'Reference architecture for a weights-only .h5 (e.g. resnet-110-wfc)' })
            .option('dataset', { type: 'string', describe: 'Dataset name: mean/std and input size (e.g. CIFAR-100)' })
            .option('out', { type: 'string', describe: 'The .onnx to write (default: <cache>/<name>.onnx, or beside --from)' })
            .option('cache_dir', { alias: 'cache-dir', type: 'string', describe: 'Download folder (default ~/.cache/semembed/models; env SEMEMBED_CACHE)' })
            .option('catalog', { type: 'string', describe: 'Catalog file (default models/catalog.json)' })
            .option('list', { type: 'boolean', default: false, describe: 'List the catalog and exit' })
            .option('progress', { type: 'boolean', default: true, describe: 'Progress bar while downloading (--no_progress to hide)' })
            .option('no_progress', { type: 'boolean', hidden: true }),
        )
          .example('$0 import cifar100-resnet-110-wfc', 'download and convert a released model')
          .example('$0 import --from cifar.model.h5 --architecture resnet-110-wfc --dataset CIFAR-100', 'offline'),
      async (argv) => {
        const a = argv as unknown as Args & { no_progress?: boolean };
        if (a.list) {
          for (const m of readCatalog(a.catalog).models) {
            const pub = m.published;
            const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);
            console.log(`${m.name.padEnd(32)} ${m.dataset.padEnd(10)} ${m.architecture.padEnd(20)} ${m.inputSize.join('x').padEnd(8)} mAHP@250 ${pct(pub.mAHP250)}  balanced acc. ${pct(pub.balancedAccuracy)}`);
          }
          return;
        }
        if (!a.name && !a.from) throw new UsageError('name a catalog model (semembed import --list shows them) or give --from file.h5');
        const r = await importModel({
          name: a.name,
          from: a.from,
          architecture: a.architecture,
          dataset: a.dataset,
          out: a.out,
          cacheDir: a.cache_dir,
          catalogPath: a.catalog,
          progress: a.progress && !a.no_progress,
          opset: a.opset,
          inputLayout: layoutArg(a.input_layout),
          fp16: a.fp16,
          lambdas: parseLambdas(a.lambda),
          ...sidecarClasses(a),
        });
        console.log(describeResult(r));
      },
    ),
};

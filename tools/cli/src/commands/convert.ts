import type { Argv } from 'yargs';
import type { ConvertResult } from '@semembed/converter';
import type { ArgsOf } from '../command.js';
import { DEFAULT_OPSET } from '../choices.js';
import { UsageError } from '../errors.js';
import { architectureOption, FlagError, intOption, withOptionalTaxonomyOptions } from '../options.js';
import { checkInputs, checkOutputs, pathArgs, withForceOption } from '../write-safety.js';
import { sidecarClasses } from '../sidecar-classes.js';

/** `--lambda a=l2norm --lambda b=scale:3` -> { a: 'l2norm', b: 'scale:3' } */
export function parseLambdas(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1)
      throw new FlagError(`--lambda ${item}: expected NAME=KIND, e.g. --lambda l2norm=l2norm`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Refuses a --lambda value that cannot work (unknown kind, expression that does not parse) before converting. */
export function checkLambdas(
  lambdas: Record<string, string> | undefined,
  check: (kind: string) => string | undefined,
): void {
  for (const [name, kind] of Object.entries(lambdas ?? {})) {
    const problem = check(kind);
    if (problem) throw new UsageError(`--lambda ${name}=${kind}: ${problem}`);
  }
}

export function describeResult(r: ConvertResult): string {
  const inp = r.sidecar.input;
  const outs = r.sidecar.outputs.map((o) => `${o.name} (${o.kind}, ${o.dim ?? '?'})`).join(', ');
  const shape = inp.shape.map((d) => d ?? 'N').join('x');
  const folded = r.foldedBatchNorms.length ? `, ${r.foldedBatchNorms.length} BatchNormalization folded` : '';
  const layout = inp.shape.length === 4 ? ` ${inp.layout}` : '';
  return `Wrote ${r.onnxPath} (opset ${r.sidecar.source.opset}, input ${inp.name}${layout} ${shape}, outputs ${outs}${folded}) and ${r.sidecarPath}`;
}

export function commonConvertOptions<T>(y: Argv<T>) {
  return withOptionalTaxonomyOptions(y, 'Taxonomy: adds each class path root -> leaf to the sidecar')
    .option('embedding', {
      type: 'string',
      describe: 'Class-embedding file (JSON or the reference .pickle): class labels and embedding rows for the sidecar',
    })
    .option('class_names', {
      type: 'string',
      describe: 'File of "id name" lines (e.g. hierarchies/Cifar-Hierarchy/class_names.txt)',
    })
    .option('opset', intOption('opset', { min: 13, default: DEFAULT_OPSET, describe: 'ONNX opset (13 and newer)' }))
    .option('input_layout', {
      choices: ['nhwc', 'nchw'] as const,
      describe: 'Input layout of the ONNX model (default: as Keras, NHWC)',
    })
    .option('fp16', {
      type: 'boolean',
      default: false,
      describe: 'Store weights as float16 (half the file; computed in float32)',
    })
    .option('lambda', {
      type: 'string',
      array: true,
      describe:
        'What a Lambda layer computes: NAME=KIND (l2norm, identity, square, relu, softmax, scale:<k>, fake_quant; two inputs: ' +
        'abs_diff, sub, euclidean_distance, cosine_similarity, ...; several: add, multiply, concat) or NAME=expr:"..." ' +
        '(over x / x0, x1, ...; e.g. expr:"K.sum(K.abs(x0 - x1), axis=-1, keepdims=True)") (repeatable)',
      coerce: (v: string[] | undefined) => parseLambdas(v),
    })
    .option('inputs', {
      type: 'string',
      array: true,
      describe:
        '--verify on these inputs: one .npy per model input, batch first, Keras layout (default: seeded random)',
    })
    .option('verify_json', { type: 'string', describe: '--verify: also write the per-layer comparison as JSON here' });
}

/** What commonConvertOptions' model flags ask of convertKeras / importModel / verifyConversion. */
export function modelFormArgs(a: {
  opset: number;
  input_layout?: 'nhwc' | 'nchw';
  fp16: boolean;
  lambda?: Record<string, string>;
}) {
  return { opset: a.opset, inputLayout: a.input_layout, fp16: a.fp16, lambdas: a.lambda };
}

type VerifyArgs = { inputs?: string[]; verify_json?: string };

/**
 * --verify: the Keras model in TF.js vs the ONNX model, layer by layer; prints the table, exits 1 at a divergence.
 * `required` false (import's default) turns "cannot verify this model" into a note instead of an error.
 */
export async function runVerify(
  a: VerifyArgs,
  opts: import('@semembed/converter').VerifyOptions,
  required: boolean,
): Promise<void> {
  const { verifyConversion, formatVerifyTable } = await import('@semembed/converter');
  const { writeFileAtomic } = await import('@semembed/formats');
  let report: import('@semembed/converter').VerifyReport;
  try {
    report = await verifyConversion({ ...opts, inputs: a.inputs });
  } catch (e) {
    if (required || !(e as { userFacing?: boolean }).userFacing) throw e;
    console.log(`Not verified: ${(e as Error).message}`);
    return;
  }
  console.log(formatVerifyTable(report));
  if (a.verify_json) writeFileAtomic(a.verify_json, `${JSON.stringify(report, null, 1)}\n`);
  if (!report.ok) {
    throw new UsageError(
      `--verify: the ONNX model differs from Keras (TensorFlow.js) from layer '${report.firstDivergent}' on; see the table above`,
    );
  }
}

export const command = 'convert <input> <output>';
export const describe = 'Convert a Keras .h5 model to ONNX (+ a JSON sidecar with input, preprocessing and outputs)';

export const builder = (y: Argv) =>
  commonConvertOptions(
    withForceOption(y)
      .positional('input', {
        type: 'string',
        demandOption: true,
        describe: 'Keras .h5 (full model, or save_weights output with --config / --architecture) or .keras',
      })
      .positional('output', {
        type: 'string',
        demandOption: true,
        describe: 'The .onnx to write; the sidecar goes beside it as <name>.json',
      })
      .option('config', { type: 'string', describe: 'model.to_json() file for a weights-only .h5' })
      .option('architecture', architectureOption)
      .option('dataset', {
        type: 'string',
        describe:
          'Dataset the model was trained on: sets mean/std and input size (e.g. CIFAR-100, NAB, NAB-ilsvrcmean)',
      })
      .option('verify', {
        type: 'boolean',
        default: false,
        describe: 'Compare every layer with the Keras model run in TensorFlow.js (max|Δ|, relative Δ, cosine)',
      })
      .conflicts('config', 'architecture'),
  )
    .example(
      '$0 convert cifar_unitsphere-embed+cls_resnet-110-wfc.model.h5 model.onnx --dataset CIFAR-100',
      'a released model',
    )
    .example('$0 convert weights.h5 model.onnx --config model.json', 'save_weights output + model.to_json()');

/** Keras .h5 -> ONNX + sidecar. */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  const { convertKeras, sidecarPathFor, checkLambdaKind } = await import('@semembed/converter');
  checkLambdas(a.lambda, checkLambdaKind);
  // The README's own `convert weights.h5 model.onnx --config model.json` would replace the config with the sidecar.
  const inputs = [
    { path: a.input, flag: 'input' },
    ...pathArgs(a, ['config', 'embedding', 'class_names', 'hierarchy']),
  ];
  checkInputs(inputs);
  const sidecar = sidecarPathFor(a.output);
  checkOutputs(
    [
      { path: a.output, flag: 'output' },
      { path: sidecar, flag: 'the sidecar' },
    ],
    inputs,
    a.force,
  );
  const r = await convertKeras({
    h5: a.input,
    out: a.output,
    config: a.config,
    architecture: a.architecture,
    dataset: a.dataset,
    ...modelFormArgs(a),
    ...(await sidecarClasses(a)),
  });
  console.log(describeResult(r));
  if (a.verify) {
    const opts = { h5: a.input, config: a.config, architecture: a.architecture, dataset: a.dataset };
    await runVerify(a, { ...opts, ...modelFormArgs(a) }, true);
  }
}

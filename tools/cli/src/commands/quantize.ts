import type { Argv } from 'yargs';
import type { ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';
import { intOption, numberOption, withOptionalTaxonomyOptions } from '../options.js';
import { checkInputs, checkOutputs, withForceOption } from '../write-safety.js';

const MODES = ['int8', 'fp16', 'dynamic'] as const;
const METHODS = ['minmax', 'percentile', 'entropy'] as const;
const OBJECTIVES = ['size', 'latency'] as const;
const TARGETS = ['cpu', 'web'] as const;

export const command = 'quantize <in> <out>';
export const describe =
  'Quantise an ONNX model (int8 QDQ, fp16, dynamic int8), or keep the smallest variant within --max_drop';

export const builder = (y: Argv) =>
  withForceOption(
    withOptionalTaxonomyOptions(y, 'Taxonomy for mAHP@250 (with --max_drop)')
      .positional('in', { type: 'string', demandOption: true, describe: 'Float32 model (.onnx, sidecar beside it)' })
      .positional('out', { type: 'string', demandOption: true, describe: 'Output .onnx; its sidecar goes beside it' })
      .option('mode', {
        type: 'string',
        choices: MODES,
        describe: 'int8 (static QDQ), fp16 or dynamic (int8 Dense); with --max_drop: the only candidate besides fp32',
      })
      .option('calibration', { type: 'string', describe: 'Folder of images to calibrate int8 with' })
      .option('dataset', {
        type: 'string',
        describe: 'Calibration (train split) and --max_drop slice (test split): FashionMNIST, CIFAR-100, ...',
      })
      .option('data_root', { type: 'string', describe: 'Dataset folder' })
      .option('per_channel', {
        type: 'boolean',
        default: true,
        describe: 'int8 weights: a scale per output channel (--no-per_channel: one)',
      })
      .option('reduce_range', {
        type: 'boolean',
        default: true,
        describe:
          'int8 / dynamic: 7-bit weights (±63), right on every x86 CPU in onnxruntime-node (±127 saturates its ' +
          'int8 kernel on AVX2 without VNNI); --no-reduce_range: full range, for wasm or VNNI only',
      })
      .option('target', {
        type: 'string',
        choices: TARGETS,
        // = @semembed/quantize's DEFAULT_TARGET (not imported here: --help loads no quantiser).
        default: 'web',
        describe:
          'int8 graph form: web (fastest on onnxruntime-web wasm and on onnxruntime-node) or cpu (the first form, ' +
          'BN-after-ReLU as depthwise convs; for comparison); see @semembed/quantize',
      })
      .option('nodes_to_exclude', {
        type: 'string',
        array: true,
        describe: "Node names kept float32 (onnxruntime quantize_static's nodes_to_exclude), space or comma separated",
      })
      .option('method', {
        type: 'string',
        choices: METHODS,
        default: 'minmax',
        describe: 'Activation ranges from calibration statistics',
      })
      .option('calibration_size', intOption('calibration_size', { min: 1, default: 256, describe: 'Samples' }))
      .option(
        'max_drop',
        numberOption('max_drop', {
          min: 0,
          max: 1,
          describe: 'Build the variants, keep the smallest whose mAHP@250 and balanced accuracy drop <= this',
        }),
      )
      .option('objective', {
        type: 'string',
        choices: OBJECTIVES,
        default: 'size',
        describe: 'With --max_drop: keep the smallest or the fastest variant within the bound',
      })
      .option('eval_size', intOption('eval_size', { min: 2, default: 1000, describe: 'Test samples for --max_drop' })),
  )
    .example('$0 quantize m.onnx m.int8.onnx --mode int8 --dataset FashionMNIST', 'static int8, 256 training images')
    .example('$0 quantize m.onnx m.cpu.onnx --mode int8 --target cpu --dataset FashionMNIST', 'the cpu form')
    .example('$0 quantize m.onnx edge.onnx --max_drop 0.005 --dataset FashionMNIST --hierarchy H', 'within 0.5 points');

type Args = ArgsOf<typeof builder>;
type Q = typeof import('@semembed/quantize');
type CommonOptions = Omit<Parameters<Q['quantizeFile']>[2], 'mode'>;

/** Every flag combination checked before any work. */
function checkFlags(a: Args, inPath: string, outPath: string): void {
  const input = { path: inPath, flag: 'the input' };
  checkInputs([input, { path: a.hierarchy, flag: '--hierarchy' }]);
  const sidecar = outPath.replace(/\.onnx$/, '.json');
  checkOutputs(
    [
      { path: outPath, flag: 'the output' },
      { path: sidecar, flag: 'its sidecar' },
    ],
    [input],
    a.force,
  );
  if (!outPath.endsWith('.onnx')) throw new UsageError(`the output ${outPath}: must end in .onnx`);
  if (a.calibration && a.dataset) throw new UsageError('--calibration and --dataset: give one of them');
  if (a.max_drop === undefined && !a.mode) throw new UsageError('--mode int8|fp16|dynamic is required (or --max_drop)');
  if (a.max_drop !== undefined && (!a.dataset || !a.hierarchy)) {
    throw new UsageError('--max_drop needs --dataset (its test split is the labelled slice) and --hierarchy');
  }
  if (a.mode === 'int8' && !a.calibration && !a.dataset) {
    throw new UsageError('--mode int8 needs --calibration DIR or --dataset NAME');
  }
}

/** int8 / fp16 / dynamic variants of an ONNX model; with --max_drop the one the semantic metric allows. */
export async function handler(a: Args): Promise<void> {
  const inPath = String(a.in),
    outPath = String(a.out);
  checkFlags(a, inPath, outPath);
  const q = await import('@semembed/quantize');
  const nodesToExclude = (a.nodes_to_exclude ?? []).flatMap((s) => String(s).split(',')).filter((s) => s !== '');
  q.checkNodesToExclude(inPath, nodesToExclude);
  const sidecar = q.sidecarOf(inPath);
  if (!sidecar && (a.calibration || a.dataset)) {
    throw new UsageError(`the input ${inPath}: no sidecar beside it (needed to preprocess calibration images)`);
  }
  const needCalib = a.mode === 'int8' || (a.max_drop !== undefined && !a.mode);
  const calib =
    !needCalib || (!a.calibration && !a.dataset)
      ? undefined
      : a.calibration
        ? await q.imagesCalibration(a.calibration, sidecar!, a.calibration_size)
        : await q.datasetSamples(a.dataset!, a.data_root, sidecar!, 'train', a.calibration_size);
  const method = a.method as (typeof METHODS)[number];
  const target = a.target as (typeof TARGETS)[number];
  const opts: CommonOptions = {
    method,
    target,
    perChannel: a.per_channel,
    reduceRange: a.reduce_range,
    nodesToExclude,
    calibration: calib && [calib],
    force: a.force,
  };
  if (a.max_drop !== undefined) return choose(a, q, inPath, outPath, sidecar!, opts);
  const r = await q.quantizeFile(inPath, outPath, { ...opts, mode: a.mode! });
  const side = r.sidecar ? ` and ${r.sidecar}` : ' (no sidecar beside the input)';
  console.log(`Wrote ${r.out} (${a.mode}, ${(r.bytes / 1024).toFixed(1)} KiB)${side}`);
}

async function choose(
  a: Args,
  q: Q,
  inPath: string,
  outPath: string,
  sidecar: string,
  opts: CommonOptions,
): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const { readHierarchy } = await import('@semembed/hierarchy');
  const sc = JSON.parse(readFileSync(sidecar, 'utf8')) as { outputs: { name: string; kind: string }[] };
  const emb = sc.outputs.find((o) => o.kind === 'embedding');
  const prob = sc.outputs.find((o) => o.kind === 'probabilities');
  if (!emb) throw new UsageError(`${sidecar}: no embedding output to score`);
  if (!prob) throw new UsageError(`${sidecar}: no probabilities output for balanced accuracy`);
  const slice = await q.datasetSamples(a.dataset!, a.data_root, sidecar, 'test', a.eval_size);
  const hierarchy = readHierarchy(a.hierarchy!, { isA: a.is_a, strIds: a.str_ids });
  const fp32 = readFileSync(inPath);
  const modes = a.mode ? [a.mode] : MODES;
  const candidates: { name: string; bytes: Uint8Array }[] = [{ name: 'fp32', bytes: new Uint8Array(fp32) }];
  for (const mode of modes) {
    candidates.push({ name: mode, bytes: (await q.quantizeModel(fp32, { ...opts, mode }, inPath)).bytes });
  }
  const objective = a.objective as (typeof OBJECTIVES)[number];
  const res = await q.evaluateCandidates(
    candidates,
    { ...slice, hierarchy },
    {
      embeddingOutput: emb.name,
      probOutput: prob.name,
      maxDrop: a.max_drop,
      objective,
      onProgress: (name) => process.stderr.write(`evaluating ${name} on ${slice.n} test samples...\n`),
    },
  );
  const chosen = q.chooseCandidate(res, objective);
  console.log(q.formatCandidates(res, chosen, a.max_drop!));
  const r = await q.quantizeFile(inPath, outPath, { ...opts, mode: chosen.name as 'fp32' | (typeof MODES)[number] });
  const how = objective === 'size' ? 'smallest' : 'fastest';
  console.log(`Kept ${chosen.name} (${how} within --max_drop ${a.max_drop}): wrote ${r.out}`);
}

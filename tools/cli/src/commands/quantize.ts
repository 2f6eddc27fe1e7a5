import type { Argv } from 'yargs';
import { defineCommand, type ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';
import { intOption, numberOption } from '../options.js';
import { checkInputs, checkOutputs, withForceOption } from '../write-safety.js';

const MODES = ['int8', 'fp16', 'dynamic'] as const;

const builder = (y: Argv) =>
  withForceOption(
    y
      .positional('in', { type: 'string', demandOption: true, describe: 'Float32 model (.onnx, sidecar beside it)' })
      .positional('out', { type: 'string', demandOption: true, describe: 'Output model (.onnx); its sidecar goes beside it' })
      .option('mode', { type: 'string', choices: MODES, describe: 'int8 (static QDQ), fp16 or dynamic (int8 Dense); with --max_drop: the only candidate besides fp32 (default: all)' })
      .option('calibration', { type: 'string', describe: 'Folder of images for int8 calibration (preprocessed as the sidecar says)' })
      .option('dataset', { type: 'string', describe: 'Dataset for calibration (train split) and the --max_drop slice (test split): FashionMNIST, CIFAR-100, ...' })
      .option('data_root', { type: 'string', describe: 'Dataset folder' })
      .option('per_channel', { type: 'boolean', default: true, describe: 'int8 weights: one scale per output channel (--no-per_channel: per tensor)' })
      .option('method', { type: 'string', choices: ['minmax', 'percentile', 'entropy'] as const, default: 'minmax', describe: 'Activation range from the calibration statistics' })
      .option('calibration_size', intOption('calibration_size', { min: 1, default: 256, describe: 'Calibration samples' }))
      .option('max_drop', numberOption('max_drop', { min: 0, max: 1, describe: 'Build the variants, keep the smallest whose mAHP@250 and balanced accuracy drop at most this much (e.g. 0.005)' }))
      .option('objective', { type: 'string', choices: ['size', 'latency'] as const, default: 'size', describe: 'With --max_drop: keep the smallest or the fastest variant within the bound' })
      .option('hierarchy', { type: 'string', describe: 'Taxonomy for mAHP@250 (with --max_drop)' })
      .option('is_a', { type: 'boolean', default: false })
      .option('str_ids', { type: 'boolean', default: false })
      .option('eval_size', intOption('eval_size', { min: 2, default: 1000, describe: 'Test samples in the --max_drop slice' })),
  ).example('$0 quantize model.onnx model.int8.onnx --mode int8 --dataset FashionMNIST', 'static int8 calibrated on 256 training images')
    .example('$0 quantize model.onnx edge.onnx --max_drop 0.005 --dataset FashionMNIST --hierarchy H', 'the smallest variant within 0.5 points');

/** int8 / fp16 / dynamic variants of an ONNX model; with --max_drop the one the semantic metric allows. */
export const quantizeCommand = defineCommand({
  command: 'quantize <in> <out>',
  describe: 'Quantise an ONNX model (int8 QDQ, fp16, dynamic int8), or pick the smallest variant within --max_drop',
  builder,
  handler: run,
});

async function run(a: ArgsOf<typeof builder>): Promise<void> {
  const inPath = String(a.in), outPath = String(a.out);
  checkInputs([{ path: inPath, flag: 'the input' }, { path: a.hierarchy, flag: '--hierarchy' }]);
  checkOutputs([{ path: outPath, flag: 'the output' }, { path: outPath.replace(/\.onnx$/, '.json'), flag: 'its sidecar' }], [{ path: inPath, flag: 'the input' }], a.force);
  if (!outPath.endsWith('.onnx')) throw new UsageError(`the output ${outPath}: must end in .onnx`);
  if (a.calibration && a.dataset) throw new UsageError('--calibration and --dataset: give one of them');
  if (a.max_drop === undefined && !a.mode) throw new UsageError('--mode int8|fp16|dynamic is required (or --max_drop to choose)');
  if (a.max_drop !== undefined && (!a.dataset || !a.hierarchy)) throw new UsageError('--max_drop needs --dataset (its test split is the labelled slice) and --hierarchy');
  const needCalib = a.mode === 'int8' || (a.max_drop !== undefined && !a.mode);
  if (a.mode === 'int8' && !a.calibration && !a.dataset) throw new UsageError('--mode int8 needs --calibration DIR or --dataset NAME');
  const q = await import('@semembed/quantize');
  const sidecar = q.sidecarOf(inPath);
  if (!sidecar && (a.calibration || a.dataset)) throw new UsageError(`the input ${inPath}: no sidecar beside it (needed to preprocess calibration images)`);
  const calib = !needCalib || (!a.calibration && !a.dataset) ? undefined
    : a.calibration ? await q.imagesCalibration(a.calibration, sidecar!, a.calibration_size)
    : await q.datasetSamples(a.dataset!, a.data_root, sidecar!, 'train', a.calibration_size);
  const opts = { method: a.method as 'minmax' | 'percentile' | 'entropy', perChannel: a.per_channel, calibration: calib && [calib], force: a.force };
  if (a.max_drop === undefined) {
    const r = await q.quantizeFile(inPath, outPath, { ...opts, mode: a.mode! });
    console.log(`Wrote ${r.out} (${a.mode}, ${(r.bytes / 1024).toFixed(1)} KiB)${r.sidecar ? ` and ${r.sidecar}` : ' (no sidecar beside the input)'}`);
    return;
  }
  await choose(a, q, inPath, outPath, sidecar!, opts);
}

type Q = typeof import('@semembed/quantize');
type CommonOptions = Omit<Parameters<Q['quantizeFile']>[2], 'mode'>;

async function choose(a: ArgsOf<typeof builder>, q: Q, inPath: string, outPath: string, sidecar: string, opts: CommonOptions): Promise<void> {
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
  const modes = a.mode ? [a.mode] : ['fp16', 'int8', 'dynamic'] as const;
  const candidates: { name: string; bytes: Uint8Array }[] = [{ name: 'fp32', bytes: new Uint8Array(fp32) }];
  for (const mode of modes) candidates.push({ name: mode, bytes: (await q.quantizeModel(fp32, { ...opts, mode }, inPath)).bytes });
  const res = await q.evaluateCandidates(candidates, { ...slice, hierarchy }, {
    embeddingOutput: emb.name, probOutput: prob.name, maxDrop: a.max_drop, objective: a.objective as 'size' | 'latency',
    onProgress: (name) => process.stderr.write(`evaluating ${name} on ${slice.n} test samples...\n`),
  });
  const chosen = q.chooseCandidate(res, a.objective as 'size' | 'latency');
  console.log(q.formatCandidates(res, chosen, a.max_drop!));
  const r = await q.quantizeFile(inPath, outPath, { ...opts, mode: chosen.name as 'fp32' | 'int8' | 'fp16' | 'dynamic' });
  console.log(`Kept ${chosen.name} (${a.objective === 'size' ? 'smallest' : 'fastest'} within --max_drop ${a.max_drop}): wrote ${r.out}`);
}

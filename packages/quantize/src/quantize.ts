// One entry for the three modes: bytes in, bytes out; and the file form that writes OUT.onnx + its sidecar.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '@semembed/formats';
import { readModel, setMetadata, writeModel } from '@semembed/onnx';
import { calibrate, type CalibrateOptions, type CalibrationBatch, type CalibrationMethod } from './calibrate.js';
import { quantizeDynamic } from './dynamic-int8.js';
import { QuantizeError } from './errors.js';
import { excludedNodes } from './exclude.js';
import { foldAffine } from './fold-affine.js';
import { convertFp16 } from './fp16.js';
import { DEFAULT_TARGET, quantizeStatic } from './static-int8.js';

export type QuantizeMode = 'int8' | 'fp16' | 'dynamic';
export const QUANTIZE_MODES: readonly QuantizeMode[] = ['int8', 'fp16', 'dynamic'];
/** The precision name a mode's output carries in its sidecar (and the page's variant list). */
export const PRECISION: Record<QuantizeMode | 'fp32', string> = {
  fp32: 'fp32',
  fp16: 'fp16',
  int8: 'int8',
  dynamic: 'dynamic',
};

export interface QuantizeOptions extends Omit<CalibrateOptions, 'method'> {
  /** 'fp32' copies the model as it is (what --max_drop keeps when no variant stays within the bound). */
  mode: QuantizeMode | 'fp32';
  /** int8: preprocessed calibration samples (required). */
  calibration?: CalibrationBatch[];
  method?: CalibrationMethod;
  perChannel?: boolean;
  /** int8 / dynamic: 7-bit weights (default true; see StaticOptions.reduceRange). */
  reduceRange?: boolean;
  /** int8: activation type (default uint8). */
  activations?: 'uint8' | 'int8';
  /** int8: the graph form (default DEFAULT_TARGET, 'web': fastest on wasm and onnxruntime-node; see StaticOptions). */
  target?: 'cpu' | 'web';
  /** fp16: more op types kept in float32. */
  block?: string[];
  /** Node names kept float32 in every mode (onnxruntime's nodes_to_exclude); an unknown name fails before any work. */
  nodesToExclude?: string[];
}

export interface QuantizeResult {
  bytes: Uint8Array;
  /** What was done, for the sidecar and the log. */
  info: Record<string, unknown>;
}

export async function quantizeModel(input: Uint8Array, o: QuantizeOptions, source = 'model'): Promise<QuantizeResult> {
  if (o.mode !== 'fp32' && !QUANTIZE_MODES.includes(o.mode)) {
    throw new QuantizeError(`--mode ${o.mode}: use int8, fp16 or dynamic`);
  }
  const model = readModel(input, source);
  const exclude = o.nodesToExclude?.length ? o.nodesToExclude : undefined;
  // Checked here, before calibration, so that a wrong name is reported against the file; it also names unnamed
  // excluded nodes (OpType#index), so the passes below, whose rewrites shift indices, find them by name.
  excludedNodes(model.graph!, exclude, source);
  let info: Record<string, unknown>;
  if (o.mode === 'int8') {
    if (!o.calibration) {
      throw new QuantizeError('--mode int8 needs calibration data (--calibration DIR or --dataset NAME)');
    }
    const method = o.method ?? 'minmax';
    const target = o.target ?? DEFAULT_TARGET;
    // Folded before calibration: the ranges are those of the tensors the int8 graph has.
    const foldedAffine = target === 'web' ? foldAffine(model, exclude) : 0;
    const ranges = await calibrate(model, o.calibration, { ...o, method });
    const r = quantizeStatic(model, ranges, {
      perChannel: o.perChannel,
      reduceRange: o.reduceRange,
      activations: o.activations,
      target,
      nodesToExclude: exclude,
    });
    const samples = o.calibration.reduce((a, b) => a + b.n, 0);
    info = {
      mode: 'int8',
      format: 'QDQ',
      target,
      method,
      perChannel: o.perChannel ?? true,
      reduceRange: o.reduceRange ?? true,
      activations: o.activations ?? 'uint8',
      calibrationSamples: samples,
      int8Weights: r.weights.length,
      quantizedActivations: r.activations,
      foldedRelus: r.foldedRelus,
      depthwiseAffine: r.depthwise,
      foldedAffine,
      skipped: r.skipped,
      ...(exclude && { nodesToExclude: exclude }),
    };
  } else if (o.mode === 'dynamic') {
    const r = quantizeDynamic(model, { perChannel: o.perChannel, reduceRange: o.reduceRange, nodesToExclude: exclude });
    if (r.weights.length === 0) {
      throw new QuantizeError(`${source}: no Gemm / MatMul with a constant weight to quantise dynamically`);
    }
    info = {
      mode: 'dynamic',
      perChannel: o.perChannel ?? false,
      reduceRange: o.reduceRange ?? true,
      int8Weights: r.weights.length,
      skipped: r.skipped,
      ...(exclude && { nodesToExclude: exclude }),
    };
  } else if (o.mode === 'fp32') {
    info = { mode: 'fp32' };
  } else {
    const r = convertFp16(model, { block: o.block, nodesToExclude: exclude });
    info = {
      mode: 'fp16',
      halfNodes: r.halfNodes,
      keptFloat32: r.keptFloat,
      ...(exclude && { nodesToExclude: exclude }),
    };
  }
  const out = { ...setMetadata(model, { 'semembed.precision': PRECISION[o.mode] }), producerName: 'semembed quantize' };
  return { bytes: writeModel(out), info };
}

/** IN.onnx's sidecar: IN.json, else model.json beside it. */
export function sidecarOf(onnxPath: string): string | undefined {
  const candidates = [onnxPath.replace(/\.onnx$/, '.json'), join(dirname(onnxPath), 'model.json')];
  return candidates.find((p) => p !== onnxPath && existsSync(p));
}

/**
 * Quantises IN.onnx into OUT.onnx and writes OUT.json (IN's sidecar, `model` pointing at OUT, `precision` and
 * `quantization` added). Everything is checked before the first write; both files are written atomically.
 */
export async function quantizeFile(
  inPath: string,
  outPath: string,
  o: QuantizeOptions & { force?: boolean },
): Promise<{ out: string; sidecar?: string; bytes: number; info: Record<string, unknown> }> {
  if (!existsSync(inPath)) throw new QuantizeError(`${inPath}: no such file`);
  if (!outPath.endsWith('.onnx')) throw new QuantizeError(`${outPath}: the output must be a .onnx file`);
  const outSidecar = outPath.replace(/\.onnx$/, '.json');
  for (const p of [outPath, outSidecar]) {
    if (!o.force && existsSync(p)) throw new QuantizeError(`${p} exists (use --force to replace it)`);
  }
  const sc = sidecarOf(inPath);
  let sidecar: Record<string, unknown> | undefined;
  if (sc) {
    try {
      sidecar = JSON.parse(readFileSync(sc, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new QuantizeError(`${sc}: not JSON (${(err as Error).message.split('\n')[0]})`);
    }
  }
  const r = await quantizeModel(readFileSync(inPath), o, inPath);
  writeFileAtomic(outPath, r.bytes);
  if (sidecar) {
    const quantization = { ...r.info, from: basename(inPath) };
    // The sidecar names its own ONNX file's hash (runtime-node refuses a pair whose hash does not match).
    const src = sidecar.source as Record<string, unknown> | undefined;
    const source =
      src?.onnx_sha256 === undefined
        ? src
        : { ...src, onnx_sha256: createHash('sha256').update(r.bytes).digest('hex') };
    const next = {
      ...sidecar,
      model: basename(outPath),
      precision: PRECISION[o.mode],
      quantization,
      ...(source && { source }),
    };
    writeFileAtomic(outSidecar, JSON.stringify(next, null, 1));
  }
  return { out: outPath, ...(sidecar && { sidecar: outSidecar }), bytes: r.bytes.length, info: r.info };
}

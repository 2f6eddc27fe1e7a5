// The page's precision variants, made by `semembed quantize`'s library: int8 in onnxruntime-web's form (the page
// runs int8 on wasm) and fp16 (WebGPU with shader-f16). Calibration on a small training slice keeps it to seconds.
import { join, relative } from 'node:path';

/** Calibration samples: enough for per-tensor minmax ranges of a small CNN, few enough to be cheap. */
export const SITE_CALIBRATION_SAMPLES = 64;

/** Writes model.int8.onnx / model.fp16.onnx (+ sidecars) beside `onnx`; returns makeSite's `variants`. */
export async function buildSiteVariants(
  onnx: string,
  sidecar: string,
  dataset: string,
  dataRoot: string | undefined,
  log: (line: string) => void,
): Promise<Record<string, string>> {
  const q = await import('@semembed/quantize');
  const calib = await q.datasetSamples(dataset, dataRoot, sidecar, 'train', SITE_CALIBRATION_SAMPLES);
  const variants: Record<string, string> = {};
  for (const mode of ['int8', 'fp16'] as const) {
    const out = join(onnx, '..', `model.${mode}.onnx`);
    // The pipeline's own outputs, rebuilt whenever this step runs.
    const r = await q.quantizeFile(onnx, out, { mode, target: 'web', calibration: [calib], force: true });
    if (!r.sidecar) throw new Error(`${onnx}: no sidecar beside it`);
    variants[mode] = r.sidecar;
    log(`    ${mode} variant: ${relative(process.cwd(), r.out)} (${(r.bytes / 1024).toFixed(0)} KiB)`);
  }
  return variants;
}

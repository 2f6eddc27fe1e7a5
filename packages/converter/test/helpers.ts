import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mulberry32, randomFloat32 } from '@semembed/formats';
import { writeKerasH5 as writeH5 } from '@semembed/formats/keras-h5';
import * as ort from 'onnxruntime-node';
import { fixturePath } from '@semembed/test-fixtures';
import type { KerasWeight } from '../src/h5.js';
import { convertKeras, DEFAULT_OPSET, type ConvertOptions, type ConvertResult } from '../src/index.js';
import { kerasInput, kerasLayer, kerasModel } from './keras-config.js';

export const FIX = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'keras-h5');
/** Keras files that other packages' tests read too: their one copy is in @semembed/test-fixtures (keras-h5/). */
const SHARED = new Set(['dl4j__cnn_batch_norm.h5']);
export const fx = (p: string): string => (SHARED.has(p) ? fixturePath(`keras-h5/${p}`) : join(FIX, p));

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'semembed-conv-'));
}

let tfReady: Promise<boolean> | undefined;
export async function tfjs(): Promise<typeof tf> {
  // wasm: ~10x the cpu backend on these convnets (the reference forward pass is still TF.js's own kernels).
  tfReady ??= tf.setBackend('wasm');
  await tfReady;
  return tf;
}

/** Deterministic pseudo-random numbers, so failures reproduce (@semembed/formats' mulberry32). */
export const rng = mulberry32;

export const randomArray = randomFloat32;

const PY = '/usr/bin/python3';
let checkerAvailable: boolean | undefined;
/** Debian's python3-onnx must be there (CI installs it): without it the onnx.checker tests fail, never skip. */
export function hasOnnxChecker(): boolean {
  if (checkerAvailable === undefined) {
    const r = spawnSync(PY, ['-c', 'import onnx'], { stdio: 'pipe' });
    checkerAvailable = r.status === 0;
    if (!checkerAvailable) {
      throw new Error(
        '/usr/bin/python3 with the onnx module is missing: the onnx.checker tests need it ' +
          '(apt-get install python3-onnx)',
      );
    }
  }
  return checkerAvailable;
}

/** Runs onnx.checker.check_model(full_check=True); throws with the checker's message on failure. */
export function checkOnnx(path: string): void {
  execFileSync(PY, ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', path], {
    stdio: 'pipe',
  });
}

/**
 * convertKeras, then onnx.checker (full_check) on the file it wrote: the first check of every conversion test. The
 * Debian onnx 1.12 checker knows opset <= 17 only; newer opsets are left to onnxruntime (runOnnx).
 */
export async function convertChecked(options: ConvertOptions): Promise<ConvertResult> {
  hasOnnxChecker();
  const res = await convertKeras(options);
  if ((options.opset ?? DEFAULT_OPSET) <= 17) checkOnnx(res.onnxPath);
  return res;
}

export async function runOnnx(
  path: string,
  feeds: Record<string, { data: Float32Array; shape: number[] }>,
): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const s = await ort.InferenceSession.create(path, { executionProviders: ['cpu'] });
  const t: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) t[k] = new ort.Tensor('float32', v.data, v.shape);
  const res = await s.run(t);
  const out: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const n of s.outputNames) out[n] = { data: res[n].data as Float32Array, dims: [...res[n].dims] };
  await s.release();
  return out;
}

/** Initializers that name Python functions break tfjs; they do not matter once weights are set. */
function stripInitializers(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripInitializers);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // tf.js cannot feed float32 into integer inputs (the Embedding fixture's input is uint16).
      if (k === 'dtype' && typeof x === 'string' && x !== 'float32') {
        o[k] = 'float32';
        continue;
      }
      if (
        /_initializer$/.test(k) &&
        x &&
        typeof x === 'object' &&
        (x as { class_name?: string }).class_name === 'function'
      )
        continue;
      o[k] = stripInitializers(x);
    }
    return o;
  }
  return v;
}

/** TF.js model from a Keras config, weights set by layer name and weight short name (kernel, bias, gamma, ...). */
export async function tfjsModel(config: unknown, weights: Map<string, KerasWeight[]>): Promise<tf.LayersModel> {
  const t = await tfjs();
  const m = await t.models.modelFromJSON({ modelTopology: stripInitializers(config) as never });
  for (const layer of m.layers) {
    if (layer.weights.length === 0) continue;
    const stored = weights.get(layer.name);
    if (!stored) throw new Error(`no stored weights for ${layer.name}`);
    for (const v of layer.weights) {
      const short = v.originalName.slice(v.originalName.lastIndexOf('/') + 1);
      const w = stored.find((s) => s.name.replace(/:\d+$/, '').split('/').pop() === short);
      if (!w) throw new Error(`no stored weight ${short} for ${layer.name}`);
      v.write(t.tensor(w.data, w.shape));
    }
  }
  return m;
}

export async function tfjsPredict(
  m: tf.LayersModel,
  inputs: { data: Float32Array; shape: number[] }[],
): Promise<{ data: Float32Array; shape: number[] }[]> {
  const t = await tfjs();
  const xs = inputs.map((i) => t.tensor(i.data, i.shape));
  const ys = m.predict(xs.length === 1 ? xs[0] : xs);
  const arr = Array.isArray(ys) ? ys : [ys];
  const out = await Promise.all(
    arr.map(async (y) => ({ data: (await y.data()) as Float32Array, shape: y.shape as number[] })),
  );
  xs.forEach((x) => x.dispose());
  arr.forEach((y) => y.dispose());
  return out;
}

/** Max |a - b| and the reference's scale (max |b|). */
export function compare(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; scale: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (Number.isNaN(maxAbs)) maxAbs = Infinity;
  return { maxAbs, scale };
}

/** NHWC -> NCHW for a batch of images. */
export function toNchw(a: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = a[((b * h + y) * w + x) * c + k];
  return out;
}

/**
 * Writes a Keras-2 HDF5 full-model file (model_config, model_weights/layer_names/weight_names) or, with
 * weightsOnly, a save_weights file, through @semembed/formats' writer (the one the trainer uses).
 */
export async function writeKerasH5(
  path: string,
  config: unknown,
  layers: { name: string; weights: { name: string; shape: number[]; data: Float32Array }[] }[],
  weightsOnly = false,
): Promise<void> {
  await writeH5(path, { modelConfig: weightsOnly ? undefined : config, layers }, weightsOnly ? 'weights' : 'model');
}

/**
 * Writes a Keras-2 .h5 of one layer called on one input named `x` (batch shape `inputShape`), with the layer's
 * weights (full Keras names): the test models of the layers TF.js lacks.
 */
export async function writeOneLayerH5(
  path: string,
  modelName: string,
  inputShape: (number | null)[],
  layer: { className: string; name: string; config: Record<string, unknown> },
  weights: { name: string; shape: number[]; data: Float32Array }[],
): Promise<void> {
  const { className, name, config } = layer;
  const model = kerasModel(
    modelName,
    [kerasInput('x', inputShape), kerasLayer(className, name, config, ['x'])],
    ['x'],
    [name],
  );
  await writeKerasH5(path, model, [
    { name: 'x', weights: [] },
    { name, weights },
  ]);
}

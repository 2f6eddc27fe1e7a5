import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32, randomFloat32, readNpy, toFloat64 } from '@semembed/formats';
import { convertKeras, type ConvertOptions } from './convert.js';
import { ConverterError } from './errors.js';
import { layerProbes, type LayerProbe } from './graph.js';
import { type KerasWeight } from './h5.js';
import type { KerasConfig } from './keras.js';
import { readKerasModelFile } from './keras-archive.js';
import { transposeArray } from './layers/util.js';
import type { Expr } from './lambda/expr.js';
import { parseExpr } from './lambda/expr.js';
import { readLambdaConfig } from './lambda/index.js';
import { kindExpression } from './lambda/kinds.js';
import { evalExprTf, isTensor, type TfValue } from './lambda/tfjs.js';

export interface VerifyOptions extends Omit<ConvertOptions, 'out'> {
  /** One .npy per model input (batch first, Keras layout); default: seeded random inputs. */
  inputs?: string[];
  seed?: number;
  /** Batch size of the random inputs. */
  batch?: number;
  /** A layer diverges when max|Δ| exceeds this times the largest |value| of TF.js's output. */
  tolerance?: number;
}

export interface LayerDiff {
  layer: string;
  className: string;
  node: number;
  index: number;
  shape: number[];
  maxAbs: number;
  relative: number;
  cosine: number;
  diverges: boolean;
}

export interface VerifyReport {
  format: 'semembed-verify/1';
  file: string;
  backend: string;
  inputs: { name: string; shape: number[]; source: string }[];
  tolerance: number;
  layers: LayerDiff[];
  /** Layer calls with no ONNX tensor or no TF.js counterpart, and why. */
  skipped: { layer: string; reason: string }[];
  firstDivergent: string | null;
  ok: boolean;
}

const DEFAULT_TOLERANCE = 1e-4;

/** Initializers that name Python functions break TF.js; they do not matter once the weights are set. */
function forTfjs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(forTfjs);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // TF.js cannot feed float32 into integer inputs (Embedding ids are fed as floats).
      if (k === 'dtype' && typeof x === 'string' && x !== 'float32') o[k] = 'float32';
      else if (!(
        /_initializer$/.test(k) &&
        x &&
        typeof x === 'object' &&
        (x as { class_name?: string }).class_name === 'function'
      ))
        o[k] = forTfjs(x);
    }
    return o;
  }
  return v;
}

function stats(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; relative: number; cosine: number } {
  let maxAbs = 0;
  let scale = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    maxAbs = d > maxAbs || Number.isNaN(d) ? d : maxAbs;
    scale = Math.max(scale, Math.abs(b[i]));
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const cosine = na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
  return {
    maxAbs: Number.isNaN(maxAbs) ? Infinity : maxAbs,
    relative: (Number.isNaN(maxAbs) ? Infinity : maxAbs) / Math.max(scale, 1e-12),
    cosine,
  };
}

/**
 * Converts like `convertKeras` into a temporary copy whose every top-level Keras layer output is also an output,
 * runs it in onnxruntime-node and the Keras model (same config and weights) in TensorFlow.js on the same inputs,
 * and compares layer by layer. Throws ConverterError when TF.js cannot build the model.
 */
export async function verifyConversion(options: VerifyOptions): Promise<VerifyReport> {
  if (options.architecture !== undefined) {
    throw new ConverterError(
      "--verify needs the model's Keras config (a full .h5 or --config); " +
        'a weights-only file built by --architecture cannot be checked',
    );
  }
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const h5 = await readKerasModelFile(options.h5);
  const cfg =
    typeof options.config === 'string'
      ? JSON.parse(readFileSync(options.config, 'utf8'))
      : (options.config ?? h5.modelConfig);
  const dir = mkdtempSync(join(tmpdir(), 'semembed-verify-'));
  try {
    const store = { probes: [] as LayerProbe[] };
    const res = await layerProbes.run(store, () => convertKeras({ ...options, out: join(dir, 'probe.onnx') }));
    const tf = await import('@tensorflow/tfjs');
    let backend = 'cpu';
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) backend = 'wasm';
    } catch {
      await tf.setBackend('cpu');
    }
    registerTfjsLambda(tf, options.lambdas ?? {});
    let model: import('@tensorflow/tfjs').LayersModel;
    try {
      model = await tf.models.modelFromJSON({ modelTopology: forTfjs(cfg) as never });
    } catch (e) {
      throw new ConverterError(
        '--verify: TensorFlow.js cannot build this Keras model, so there is nothing to compare with ' +
          `(${(e as Error).message.split('\n')[0]})`,
      );
    }
    setWeights(tf, model, h5.weights);

    // Inputs in Keras layout: given .npy files or seeded random numbers (ids for Embedding inputs).
    const sidecarInputs = res.sidecar.inputs ?? [res.sidecar.input];
    if (options.inputs && options.inputs.length !== model.inputs.length) {
      throw new ConverterError(
        `--inputs: the model has ${model.inputs.length} input(s), ${options.inputs.length} .npy file(s) given`,
      );
    }
    const next = mulberry32(options.seed ?? 1);
    const feeds = model.inputs.map((t, i) => {
      if (options.inputs) {
        const a = readNpy(options.inputs[i]);
        return {
          name: sidecarInputs[i].name,
          shape: a.shape,
          data: Float32Array.from(toFloat64(a)),
          source: options.inputs[i],
        };
      }
      const shape = t.shape.map((d, j) => (j === 0 ? (options.batch ?? 2) : d));
      if (shape.some((d) => d === null)) {
        throw new ConverterError(
          `--verify: input '${sidecarInputs[i].name}' has open dimensions ${JSON.stringify(t.shape)}; ` +
            'give --inputs X.npy',
        );
      }
      const n = (shape as number[]).reduce((p, q) => p * q, 1);
      const ids = embeddingSize(cfg, sidecarInputs[i].name);
      const data = ids ? Float32Array.from({ length: n }, () => Math.floor(next() * ids)) : randomFloat32(n, next);
      return {
        name: sidecarInputs[i].name,
        shape: shape as number[],
        data,
        source: ids ? `seeded ids < ${ids}` : `seeded uniform [-1, 1)`,
      };
    });

    // TF.js: every probed layer call's output tensor.
    const skipped: { layer: string; reason: string }[] = [];
    const wanted: { probe: LayerProbe; tensor: import('@tensorflow/tfjs').SymbolicTensor }[] = [];
    for (const probe of store.probes) {
      if (probe.foldedInto) {
        skipped.push({ layer: probe.layer, reason: `folded into the weights with ${probe.foldedInto}` });
        continue;
      }
      const layer = model.layers.find((l) => l.name === probe.layer);
      const tnode = layer?.inboundNodes[probe.node];
      const tensor = tnode?.outputTensors[probe.index];
      if (!tensor) skipped.push({ layer: probe.layer, reason: `TF.js has no call ${probe.node} of it` });
      else wanted.push({ probe, tensor });
    }
    const refModel = tf.model({ inputs: model.inputs, outputs: wanted.map((w) => w.tensor) });
    const xs = feeds.map((f) => tf.tensor(f.data, f.shape));
    const ys = refModel.predict(xs.length === 1 ? xs[0] : xs);
    const ref = await Promise.all(
      (Array.isArray(ys) ? ys : [ys]).map(async (y) => ({ data: (await y.data()) as Float32Array, shape: y.shape })),
    );
    tf.dispose([xs, ys]);

    // ONNX Runtime: the probe copy, inputs transposed where the ONNX model takes NCHW.
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(res.onnxPath, { executionProviders: ['cpu'] });
    const ortFeeds: Record<string, import('onnxruntime-node').Tensor> = {};
    feeds.forEach((f, i) => {
      // --input_layout may have turned the Keras layout around at the ONNX input.
      const kerasFirst = channelsFirstInput(cfg, f.name);
      const onnxFirst = sidecarInputs[i].layout === 'NCHW';
      const turn = f.shape.length === 4 && kerasFirst !== onnxFirst;
      const [n, a, b, c] = f.shape;
      ortFeeds[f.name] = !turn
        ? new ort.Tensor('float32', f.data, f.shape)
        : kerasFirst
          ? new ort.Tensor('float32', transposeArray(f.data, f.shape, [0, 2, 3, 1]), [n, b, c, a])
          : new ort.Tensor('float32', transposeArray(f.data, f.shape, [0, 3, 1, 2]), [n, c, a, b]);
    });
    const out = await session.run(
      ortFeeds,
      wanted.map((w) => w.probe.output),
    );
    await session.release();

    const layers: LayerDiff[] = wanted.map((w, i) => {
      const got = out[w.probe.output];
      const r = ref[i];
      const same = got.dims.length === r.shape.length && got.dims.every((d, j) => Number(d) === r.shape[j]);
      const s = same ? stats(got.data as Float32Array, r.data) : { maxAbs: Infinity, relative: Infinity, cosine: NaN };
      return {
        layer: w.probe.layer,
        className: w.probe.className,
        node: w.probe.node,
        index: w.probe.index,
        shape: r.shape,
        ...s,
        diverges: !(s.relative <= tolerance),
      };
    });
    const first = layers.find((l) => l.diverges);
    return {
      format: 'semembed-verify/1',
      file: options.h5,
      backend: `onnxruntime-node (cpu) vs TensorFlow.js (${backend})`,
      inputs: feeds.map((f) => ({ name: f.name, shape: f.shape, source: f.source })),
      tolerance,
      layers,
      skipped,
      firstDivergent: first ? first.layer : null,
      ok: !first,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a Lambda computes, resolved as the converter does: --lambda, else its code, else the reference's l2norm. */
function lambdaTree(config: KerasConfig, lambdas: Record<string, string>, inputs: number): Expr {
  const name = String(config.name);
  const kind = lambdas[name];
  if (kind) {
    const k = kindExpression(kind, inputs);
    if ('error' in k) throw new Error(`--lambda ${name}=${kind}: ${k.error}`);
    return parseExpr(k.expr);
  }
  const code = readLambdaConfig(config);
  if (code.expr) return code.expr;
  if (code.source !== undefined) return parseExpr(code.source);
  if (name === 'l2norm') return parseExpr('l2_normalize(x, axis=-1)');
  throw new Error(`Lambda '${name}': ${code.problem}`);
}

/** A TF.js layer class for Keras's Lambda that evaluates the same expression with TF.js's own ops. */
function registerTfjsLambda(tf: typeof import('@tensorflow/tfjs'), lambdas: Record<string, string>): void {
  class KerasLambda extends tf.layers.Layer {
    static className = 'Lambda';
    private readonly keras: KerasConfig;
    constructor(config: KerasConfig) {
      super(config);
      this.keras = config;
    }
    private run(inputs: import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[]) {
      const xs = Array.isArray(inputs) ? inputs : [inputs];
      const env = new Map<string, TfValue>();
      for (const [k, v] of Object.entries((this.keras.arguments ?? {}) as Record<string, TfValue>)) env.set(k, v);
      xs.forEach((x, i) => env.set(`x${i}`, x));
      env.set('x', xs.length === 1 ? xs[0] : xs);
      const y = evalExprTf(tf as never, lambdaTree(this.keras, lambdas, xs.length), env);
      return isTensor(y) ? y : tf.scalar(Number(y));
    }
    override call(inputs: import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[]) {
      return tf.tidy(() => this.run(inputs));
    }
    override computeOutputShape(shape: (number | null)[] | (number | null)[][]) {
      // Evaluated once on zeros of the input shape (open dimensions as 1) to learn the output's shape.
      const shapes = (Array.isArray(shape[0]) ? shape : [shape]) as (number | null)[][];
      const zeros = shapes.map((s) => tf.zeros(s.map((d) => d ?? 1)));
      const y = tf.tidy(() => this.run(zeros.length === 1 ? zeros[0] : zeros));
      const out = [null, ...y.shape.slice(1)];
      tf.dispose([...zeros, y]);
      return out;
    }
  }
  tf.serialization.registerClass(KerasLambda as never);
  // Keras's Subtract merge layer, which TF.js lacks.
  class KerasSubtract extends tf.layers.Layer {
    static className = 'Subtract';
    override call(inputs: import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[]) {
      const [a, b] = inputs as import('@tensorflow/tfjs').Tensor[];
      return tf.sub(a, b);
    }
    override computeOutputShape(shape: (number | null)[][]) {
      return shape[0];
    }
  }
  tf.serialization.registerClass(KerasSubtract as never);
}

function setWeights(
  tf: typeof import('@tensorflow/tfjs'),
  m: import('@tensorflow/tfjs').LayersModel,
  weights: Map<string, KerasWeight[]>,
): void {
  for (const layer of m.layers) {
    if (layer.weights.length === 0) continue;
    const stored = weights.get(layer.name) ?? [];
    for (const v of layer.weights) {
      // TF.js names nested weights '<inner layer>/<short>'; Keras files store them under the same path.
      const path = v.originalName.split('/');
      const short = path[path.length - 1];
      const owner = path[path.length - 2];
      const w =
        stored.find((s) => s.name.replace(/:\d+$/, '').endsWith(`${owner}/${short}`)) ??
        stored.find((s) => s.name.replace(/:\d+$/, '').split('/').pop() === short);
      if (!w) throw new ConverterError(`--verify: no stored weight ${short} for layer '${layer.name}'`);
      v.write(tf.tensor(w.data, w.shape));
    }
  }
}

function embeddingSize(cfg: unknown, input: string): number | undefined {
  const layers = ((cfg as { config?: { layers?: unknown[] } })?.config?.layers ?? []) as {
    class_name: string;
    config: KerasConfig;
    inbound_nodes?: unknown;
  }[];
  const user = layers.find(
    (l) => l.class_name === 'Embedding' && JSON.stringify(l.inbound_nodes ?? []).includes(`"${input}"`),
  );
  return user ? Number(user.config.input_dim) : undefined;
}

/** Whether Keras reads this input channels first (its first consumer's data_format, as the converter decides). */
function channelsFirstInput(cfg: unknown, input: string): boolean {
  const c = (cfg as { class_name?: string; config?: unknown })?.config;
  const layers = ((Array.isArray(c) ? c : (c as { layers?: unknown[] })?.layers) ?? []) as {
    class_name: string;
    config: KerasConfig;
    inbound_nodes?: unknown;
  }[];
  const sequential = (cfg as { class_name?: string }).class_name === 'Sequential';
  const user = sequential
    ? layers.find((l) => l.class_name !== 'InputLayer')
    : layers.find((l) => JSON.stringify(l.inbound_nodes ?? []).includes(`"${input}"`));
  return user?.config?.data_format === 'channels_first';
}

const fmt = (v: number): string => (Number.isFinite(v) ? v.toExponential(2) : String(v));

/** The per-layer table; the first layer that diverges is marked. */
export function formatVerifyTable(r: VerifyReport): string {
  const rows = r.layers.map((l) => [
    l.layer + (l.node ? `#${l.node}` : '') + (l.index ? `@${l.index}` : ''),
    l.className,
    `[${l.shape.join(', ')}]`,
    fmt(l.maxAbs),
    fmt(l.relative),
    Number.isFinite(l.cosine) ? l.cosine.toFixed(6) : String(l.cosine),
    l.layer === r.firstDivergent && l === r.layers.find((x) => x.diverges)
      ? '<== first divergence'
      : l.diverges
        ? 'diverges'
        : '',
  ]);
  const head = ['layer', 'class', 'shape', 'max|Δ|', 'relative Δ', 'cosine', ''];
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((row) => row[j].length)));
  const line = (row: string[]): string =>
    row
      .map((c, j) => c.padEnd(w[j]))
      .join('  ')
      .trimEnd();
  const lines = [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
  for (const s of r.skipped) lines.push(`  (${s.layer}: ${s.reason})`);
  lines.push(
    r.ok
      ? `all ${r.layers.length} layer outputs match TensorFlow.js within ${r.tolerance} relative (${r.backend})`
      : `layer '${r.firstDivergent}' is the first to differ from TensorFlow.js by more than ${r.tolerance} ` +
          `relative (${r.backend})`,
  );
  return lines.join('\n');
}

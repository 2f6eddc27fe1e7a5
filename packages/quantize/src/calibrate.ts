// Calibration: runs the float model in onnxruntime-node with every activation exposed as an output and turns
// what it sees into one [min, max] range per tensor (minmax, percentile or entropy).
import * as ort from 'onnxruntime-node';
import { writeModel, type onnx } from '@semembed/onnx';
import { QuantizeError } from './errors.js';
import { activationTensors, exposeOutputs, modelInput } from './graph.js';

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

export interface Range {
  min: number;
  max: number;
}

/** Preprocessed samples, as the model takes them: `n` samples of the input's shape, float32, concatenated. */
export interface CalibrationBatch {
  data: Float32Array;
  n: number;
}

export interface CalibrateOptions {
  method?: CalibrationMethod;
  /** percentile: the share of values kept inside the range (default 99.999). */
  percentile?: number;
  /** Samples per tensor kept for percentile / entropy (reservoir). */
  reservoir?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Per tensor: exact min / max and a seeded uniform sample of the values (for percentile / entropy). */
class TensorStats {
  min = Infinity;
  max = -Infinity;
  seen = 0;
  sample: Float32Array;
  private rng = 0x9e3779b9;

  constructor(readonly cap: number) {
    this.sample = new Float32Array(cap);
  }
  add(x: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      const seen = this.seen++;
      if (this.cap === 0) continue;
      if (seen < this.cap) this.sample[seen] = v;
      else {
        this.rng = (Math.imul(this.rng, 1664525) + 1013904223) >>> 0;
        const j = Math.floor((this.rng / 2 ** 32) * (seen + 1));
        if (j < this.cap) this.sample[j] = v;
      }
    }
  }
  values(): Float32Array {
    return this.sample.subarray(0, Math.min(this.seen, this.cap)).slice().sort();
  }
}

function percentileRange(s: TensorStats, keep: number): Range {
  const v = s.values();
  const tail = (1 - keep / 100) / 2;
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.round(q * (v.length - 1))))];
  return { min: s.min >= 0 ? 0 : at(tail), max: at(1 - tail) };
}

/**
 * KL-divergence threshold (TensorRT's entropy calibration) on the histogram of |x|: the clipping threshold whose
 * 128-level quantised distribution is closest to the observed one.
 */
export function entropyThreshold(absValues: Float32Array, bins = 2048, levels = 128): number {
  const top = absValues.reduce((m, v) => Math.max(m, v), 0);
  if (top === 0) return 0;
  const hist = new Float64Array(bins);
  for (const v of absValues) hist[Math.min(bins - 1, Math.floor((v / top) * bins))]++;
  let best = bins;
  let bestKl = Infinity;
  for (let i = levels; i <= bins; i++) {
    // Reference: the first i bins, everything above clipped into the last one.
    const p = hist.slice(0, i);
    for (let j = i; j < bins; j++) p[i - 1] += hist[j];
    // Candidate: the i bins merged into `levels` levels, each level spread over its non-empty bins.
    const q = new Float64Array(i);
    for (let l = 0; l < levels; l++) {
      const a = Math.floor((l * i) / levels);
      const b = Math.floor(((l + 1) * i) / levels);
      let sum = 0,
        nonzero = 0;
      for (let j = a; j < b; j++) {
        if (hist[j] > 0) {
          sum += hist[j];
          nonzero++;
        }
      }
      for (let j = a; j < b; j++) if (hist[j] > 0) q[j] = sum / nonzero;
    }
    let ps = 0,
      qs = 0;
    for (let j = 0; j < i; j++) {
      ps += p[j];
      qs += q[j];
    }
    let kl = 0;
    for (let j = 0; j < i; j++) if (p[j] > 0 && q[j] > 0) kl += (p[j] / ps) * Math.log(p[j] / ps / (q[j] / qs));
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return ((best + 0.5) / bins) * top;
}

function entropyRange(s: TensorStats): Range {
  const v = s.values();
  const t = entropyThreshold(Float32Array.from(v, Math.abs));
  return { min: s.min >= 0 ? 0 : Math.max(s.min, -t), max: Math.min(s.max, t) };
}

/** Ranges of every float activation of `model` (and its input) over the calibration batches. */
export async function calibrate(
  model: onnx.ModelProto,
  batches: CalibrationBatch[],
  o: CalibrateOptions = {},
): Promise<Map<string, Range>> {
  const method = o.method ?? 'minmax';
  if (!CALIBRATION_METHODS.includes(method)) {
    throw new QuantizeError(`--method ${method}: use minmax, percentile or entropy`);
  }
  if (batches.length === 0 || batches.every((b) => b.n === 0)) throw new QuantizeError('calibration: no samples');
  const input = modelInput(model);
  const sampleSize = input.dims.slice(1).reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);
  const names = activationTensors(model);
  const exposed = writeModel(exposeOutputs(model, names));
  const session = await ort.InferenceSession.create(exposed, { graphOptimizationLevel: 'disabled' });
  const cap = method === 'minmax' ? 0 : (o.reservoir ?? 1 << 18);
  const stats = new Map<string, TensorStats>([input.name, ...names].map((n) => [n, new TensorStats(cap)]));
  const fixedBatch = typeof input.dims[0] === 'number' ? input.dims[0] : undefined;
  const total = batches.reduce((a, b) => a + b.n, 0);
  let done = 0;
  try {
    for (const b of batches) {
      if (Number.isFinite(sampleSize) && b.data.length !== b.n * sampleSize) {
        throw new QuantizeError(
          `calibration batch of ${b.n} samples has ${b.data.length} values, ` +
            `the input '${input.name}' takes ${sampleSize} per sample`,
        );
      }
      const step = fixedBatch ?? b.n;
      for (let s = 0; s < b.n; s += step) {
        const n = Math.min(step, b.n - s);
        const x = b.data.subarray(s * sampleSize, (s + n) * sampleSize);
        const dims = [n, ...input.dims.slice(1).map(Number)];
        const out = await session.run({ [input.name]: new ort.Tensor('float32', x, dims) }, names);
        stats.get(input.name)!.add(x);
        for (const name of names) {
          const t = out[name];
          if (t?.type === 'float32') stats.get(name)!.add(t.data as Float32Array);
        }
        done += n;
        o.onProgress?.(done, total);
      }
    }
  } finally {
    await session.release();
  }
  const ranges = new Map<string, Range>();
  for (const [name, s] of stats) {
    if (s.seen === 0) continue;
    if (!Number.isFinite(s.min) || !Number.isFinite(s.max)) {
      throw new QuantizeError(`calibration: tensor '${name}' has non-finite values (bad calibration input?)`);
    }
    // The image input keeps its full range: clipping pixels only loses (its range is the preprocessing's).
    const full = method === 'minmax' || name === input.name;
    ranges.set(
      name,
      full
        ? { min: s.min, max: s.max }
        : method === 'percentile'
          ? percentileRange(s, o.percentile ?? 99.999)
          : entropyRange(s),
    );
  }
  return ranges;
}

// Quantisation parameters and the arithmetic of QuantizeLinear (round half to even, saturate), written once.

export interface ActParams {
  scale: number;
  /** int8 zero point. */
  zeroPoint: number;
}

/** Round half to even, as ONNX QuantizeLinear rounds. */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Asymmetric activation parameters for a range, int8 ([-128, 127]) or uint8 ([0, 255]); 0 is always representable
 * exactly, as ONNX requires for padding.
 */
export function activationParams(min: number, max: number, type: 'int8' | 'uint8' = 'int8'): ActParams {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  const qmin = type === 'int8' ? -128 : 0;
  if (!(hi > lo)) return { scale: 1, zeroPoint: type === 'int8' ? 0 : 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.max(qmin, Math.min(qmin + 255, roundEven(qmin - lo / scale)));
  return { scale, zeroPoint };
}

/**
 * The weight range with `reduceRange` (7 bits, ±63; ORT's reduce_range): onnxruntime-node's U8S8 kernel on x86 CPUs
 * with AVX2 but no VNNI (AMD Zen 1-3, Intel before Ice Lake) multiplies with vpmaddubsw, which adds two u8·s8
 * products into an int16 and saturates (255·127·2 > 32767): measured here on such a CPU (AMD EPYC, AVX2 only),
 * full-range weights gave max |Δ| 3.95 instead of 0.105 on a small conv (the graph itself is right: the same model
 * with ORT's fusions off agreed). ±63 keeps every pair sum below 2^15. wasm (int16 widening) and VNNI never saturate.
 */
export const REDUCED_WEIGHT_MAX = 63;

/**
 * Symmetric int8 weights (zero point 0, range ±qmax: 127, or REDUCED_WEIGHT_MAX), one scale per slice along `axis`
 * (per channel) or one for the whole tensor.
 */
export function quantizeWeights(
  w: Float32Array,
  dims: number[],
  axis: number | undefined,
  qmax = 127,
): { q: Int8Array; scales: Float32Array } {
  const channels = axis === undefined ? 1 : dims[axis];
  const inner = axis === undefined ? w.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chan = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) maxAbs[chan(i)] = Math.max(maxAbs[chan(i)], Math.abs(w[i]));
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? m / qmax : 1));
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-qmax, Math.min(qmax, roundEven(w[i] / scales[chan(i)])));
  return { q, scales };
}

/** Bias as int32 with scale inputScale * weightScale[c] (what ORT's QLinearConv / QGemm expect). */
export function quantizeBias(
  b: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { q: Int32Array; scales: Float32Array } {
  const scales = Float32Array.from(b, (_, c) => inputScale * weightScales[weightScales.length === 1 ? 0 : c]);
  const q = Int32Array.from(b, (v, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, roundEven(v / scales[c]))));
  return { q, scales };
}

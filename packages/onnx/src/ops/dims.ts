/** Dimension arithmetic for shape inference: sizes, names for dynamic sizes (kept when they pass through), null. */
import type { Dim } from '../build.js';
import { OnnxError } from '../errors.js';
import type { onnx } from '../types.js';

/** Elements of a shape with every dim known; symbolic or unknown dims count as 1 (see modelCost). */
export function count(dims: readonly Dim[]): number {
  let n = 1;
  for (const d of dims) n *= typeof d === 'number' ? d : 1;
  return n;
}

/** numpy broadcasting of two shapes (ONNX's multidirectional broadcasting). */
export function broadcast(a: readonly Dim[], b: readonly Dim[], node: onnx.NodeProto): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = i < n - a.length ? 1 : a[i - (n - a.length)];
    const y = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === y) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') {
      throw new OnnxError(
        `node '${node.name ?? ''}' (${node.opType}): shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`,
      );
    } else out.push(typeof x === 'number' ? x : typeof y === 'number' ? y : x === null ? y : x);
  }
  return out;
}

/** An axis in [0, rank), negative counting from the end. */
export function axis(a: number, rank: number): number {
  return a < 0 ? a + rank : a;
}

/** The product of dims as one dim: a number, a single name when the numeric part is 1, else null. */
export function product(dims: readonly Dim[]): Dim {
  let n = 1;
  const names: Dim[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else names.push(d);
  }
  if (names.length === 0) return n;
  if (names.length === 1 && n === 1) return names[0];
  return null;
}

export interface WindowAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** begin pads then end pads, one each per spatial axis. */
  pads: number[];
  autoPad: string;
  ceil: boolean;
}

/** Output size of a convolution / pooling window along one axis (ONNX Conv, MaxPool and AveragePool). */
export function windowOutput(size: Dim, i: number, w: WindowAttrs): Dim {
  if (typeof size !== 'number') return null;
  const k = (w.kernel[i] - 1) * w.dilations[i] + 1;
  const s = w.strides[i];
  if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return Math.ceil(size / s);
  const pads = w.autoPad === 'VALID' ? 0 : w.pads[i] + w.pads[i + w.kernel.length];
  const span = size + pads - k;
  let out = (w.ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // With ceil_mode the last window must start inside the input or its begin padding (as onnx and PyTorch do).
  if (w.ceil && (out - 1) * s >= size + (w.autoPad === 'VALID' ? 0 : w.pads[i])) out--;
  return out;
}

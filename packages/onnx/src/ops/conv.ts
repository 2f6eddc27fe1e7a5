/** Convolutions and pooling windows. */
import { intAttribute, intsAttribute, stringAttribute } from '../build.js';
import type { onnx } from '../types.js';
import { count, windowOutput, type WindowAttrs } from './dims.js';
import type { OpContext, OpRule, ValueType } from './types.js';

function windowAttrs(node: onnx.NodeProto, kernel: number[]): WindowAttrs {
  const n = kernel.length;
  return {
    kernel,
    strides: intsAttribute(node, 'strides') ?? new Array(n).fill(1),
    dilations: intsAttribute(node, 'dilations') ?? new Array(n).fill(1),
    pads: intsAttribute(node, 'pads') ?? new Array(2 * n).fill(0),
    autoPad: stringAttribute(node, 'auto_pad', 'NOTSET'),
    ceil: intAttribute(node, 'ceil_mode', 0) === 1,
  };
}

function convKernel(c: OpContext): number[] | undefined {
  const k = intsAttribute(c.node, 'kernel_shape');
  if (k) return k;
  const w = c.inputs[1];
  if (!w || w.dims.slice(2).some((d) => typeof d !== 'number')) return undefined;
  return w.dims.slice(2) as number[];
}

function convInfer(c: OpContext): (ValueType | undefined)[] {
  const x = c.inputs[0]!;
  const kernel = convKernel(c);
  if (!kernel) return [undefined];
  const w = windowAttrs(c.node, kernel);
  const spatial = x.dims.slice(2).map((d, i) => windowOutput(d, i, w));
  return [{ elemType: x.elemType, dims: [x.dims[0], c.inputs[1]?.dims[0] ?? null, ...spatial] }];
}

function convTransposeInfer(c: OpContext): (ValueType | undefined)[] {
  const x = c.inputs[0]!;
  const kernel = convKernel(c);
  const wt = c.inputs[1];
  if (!kernel || !wt) return [undefined];
  const w = windowAttrs(c.node, kernel);
  const group = intAttribute(c.node, 'group', 1);
  const outPad = intsAttribute(c.node, 'output_padding') ?? new Array(kernel.length).fill(0);
  const fixed = intsAttribute(c.node, 'output_shape');
  const spatial = x.dims.slice(2).map((d, i) => {
    if (fixed) return fixed[i];
    if (typeof d !== 'number') return null;
    if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return d * w.strides[i];
    const k = (kernel[i] - 1) * w.dilations[i] + 1;
    return w.strides[i] * (d - 1) + outPad[i] + k - w.pads[i] - w.pads[i + kernel.length];
  });
  const m = typeof wt.dims[1] === 'number' ? wt.dims[1] * group : null;
  return [{ elemType: x.elemType, dims: [x.dims[0], m, ...spatial] }];
}

function poolInfer(c: OpContext): (ValueType | undefined)[] {
  const x = c.inputs[0]!;
  const kernel = intsAttribute(c.node, 'kernel_shape');
  if (!kernel) return [undefined];
  const w = windowAttrs(c.node, kernel);
  const dims = [x.dims[0], x.dims[1], ...x.dims.slice(2).map((d, i) => windowOutput(d, i, w))];
  // MaxPool's optional second output: the flat indices of the maxima.
  return c.node.output.map((_, i) => ({ elemType: i === 0 ? x.elemType : 7, dims: [...dims] }));
}

/** Multiply-adds of one output element: input channels per group times the kernel window. */
function macsPerOutput(c: OpContext): number {
  const w = c.inputs[1];
  return w ? count(w.dims.slice(1)) : 0;
}

export const convRules: OpRule[] = [
  {
    ops: ['Conv'],
    infer: convInfer,
    flops: (c, out) => count(out[0].dims) * (2 * macsPerOutput(c) + (c.inputs[2] ? 1 : 0)),
  },
  {
    ops: ['ConvTranspose'],
    infer: convTransposeInfer,
    // Every input element is scattered through the kernel into (out channels / group) maps.
    flops: (c, out) => {
      const w = c.inputs[1]!;
      return 2 * count(c.inputs[0]!.dims) * count(w.dims.slice(1)) + (c.inputs[2] ? count(out[0].dims) : 0);
    },
  },
  {
    ops: ['MaxPool', 'AveragePool', 'LpPool'],
    infer: poolInfer,
    flops: (c, out) => count(out[0].dims) * count(intsAttribute(c.node, 'kernel_shape') ?? []),
  },
  {
    ops: ['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool'],
    infer: (c) => {
      const x = c.inputs[0]!;
      return [{ elemType: x.elemType, dims: [x.dims[0], x.dims[1], ...x.dims.slice(2).map(() => 1)] }];
    },
    flops: (c) => count(c.inputs[0]!.dims),
  },
];

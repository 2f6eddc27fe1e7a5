/** Ops that move data without arithmetic: Reshape, Flatten, Transpose, Concat, Slice, Gather, Pad, Resize, ... */
import { getAttribute, intAttribute, intsAttribute, type Dim } from '../build.js';
import { DataType, type onnx } from '../types.js';
import { axis, count, product } from './dims.js';
import type { OpContext, OpRule, ValueType } from './types.js';

/** Attribute until `opset`, then input `index` (ONNX moved axes, pads, ... from attributes to inputs). */
function attrOrInput(c: OpContext, name: string, index: number, inputSince: number): number[] | undefined {
  return c.opset >= inputSince ? (c.node.input[index] ? c.constant(index) : undefined) : intsAttribute(c.node, name);
}

function reshape(x: ValueType, shape: number[], allowZero: boolean): Dim[] {
  const out: Dim[] = shape.map((s, i) => (s === 0 && !allowZero ? x.dims[i] : s === -1 ? null : s));
  const free = out.indexOf(null);
  if (free >= 0 && shape[free] === -1) {
    // -1: what is left of the input's elements. Names cancel when the same name is copied through.
    const rest = [...x.dims];
    const known: Dim[] = [];
    for (const d of out.filter((_, i) => i !== free)) {
      const j = typeof d === 'string' ? rest.indexOf(d) : -1;
      if (j >= 0) rest.splice(j, 1);
      else known.push(d);
    }
    const inNum = count(rest.filter((d) => typeof d === 'number'));
    const outNum = count(known.filter((d) => typeof d === 'number'));
    const names = rest.filter((d) => typeof d !== 'number');
    if (known.some((d) => typeof d !== 'number') || names.length > 1 || names.includes(null)) out[free] = null;
    else if (inNum % outNum !== 0) out[free] = null;
    else out[free] = names.length === 1 ? (inNum / outNum === 1 ? names[0] : null) : inNum / outNum;
  }
  return out;
}

function slice(c: OpContext): Dim[] | undefined {
  const x = c.inputs[0]!;
  const starts = c.opset >= 10 ? c.constant(1) : intsAttribute(c.node, 'starts');
  const ends = c.opset >= 10 ? c.constant(2) : intsAttribute(c.node, 'ends');
  if (!starts || !ends) return undefined;
  const axes =
    (c.opset >= 10 ? (c.node.input[3] ? c.constant(3) : undefined) : intsAttribute(c.node, 'axes')) ??
    starts.map((_, i) => i);
  const steps = (c.opset >= 10 && c.node.input[4] ? c.constant(4) : undefined) ?? starts.map(() => 1);
  const dims = [...x.dims];
  axes.forEach((a0, i) => {
    const a = axis(a0, dims.length);
    const d = dims[a];
    if (typeof d !== 'number') {
      dims[a] = starts[i] === 0 && ends[i] >= 2 ** 53 && steps[i] === 1 ? d : null;
      return;
    }
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const step = steps[i];
    const s = step > 0 ? clamp(starts[i], 0, d) : clamp(starts[i], -1, d - 1);
    const e = step > 0 ? clamp(ends[i], 0, d) : clamp(ends[i], -1, d - 1);
    dims[a] = Math.max(0, Math.ceil((e - s) / step));
  });
  return dims;
}

function resize(c: OpContext): Dim[] | undefined {
  const x = c.inputs[0]!;
  const sizes = c.node.input[3] ? c.constant(3) : undefined;
  if (sizes && sizes.length > 0) return sizes;
  const scalesIndex = c.opset >= 11 ? 2 : 1;
  const scales = c.node.input[scalesIndex] ? c.constant(scalesIndex) : undefined;
  if (!scales || scales.length === 0) return undefined;
  return x.dims.map((d, i) => (typeof d === 'number' ? Math.floor(d * scales[i]) : scales[i] === 1 ? d : null));
}

function concat(c: OpContext): Dim[] | undefined {
  if (c.inputs.some((t) => !t)) return undefined;
  const first = c.inputs[0]!;
  const a = axis(intAttribute(c.node, 'axis', 0), first.dims.length);
  const dims = [...first.dims];
  const along = c.inputs.map((t) => t!.dims[a]);
  dims[a] = along.every((d) => typeof d === 'number') ? (along as number[]).reduce((s, d) => s + d, 0) : null;
  return dims;
}

function constantValue(node: onnx.NodeProto): ValueType | undefined {
  const t = getAttribute(node, 'value');
  if (t && typeof t === 'object' && 'dims' in t)
    return { elemType: (t as onnx.TensorProto).dataType ?? 0, dims: [...(t as onnx.TensorProto).dims] };
  return undefined;
}

/** A rule for an op that only moves data: no FLOPs (modelCost still counts the bytes it reads and writes). */
const moves = (ops: readonly string[], infer: OpRule['infer']): OpRule => ({ ops, infer, flops: () => 0 });

const same = (x: ValueType, dims: Dim[] | undefined): (ValueType | undefined)[] => [
  dims && { elemType: x.elemType, dims },
];

export const shapeRules: OpRule[] = [
  moves(['Reshape'], (c) => {
    const shape = c.constant(1);
    return same(c.inputs[0]!, shape && reshape(c.inputs[0]!, shape, intAttribute(c.node, 'allowzero', 0) === 1));
  }),
  moves(['Flatten'], (c) => {
    const x = c.inputs[0]!;
    const a = axis(intAttribute(c.node, 'axis', 1), x.dims.length);
    return same(x, [product(x.dims.slice(0, a)), product(x.dims.slice(a))]);
  }),
  moves(['Transpose'], (c) => {
    const x = c.inputs[0]!;
    const perm = intsAttribute(c.node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
    return same(
      x,
      perm.map((p) => x.dims[p]),
    );
  }),
  moves(['Concat'], (c) => same(c.inputs[0]!, concat(c))),
  moves(['Slice'], (c) => same(c.inputs[0]!, slice(c))),
  moves(['Gather'], (c) => {
    const [x, idx] = c.inputs;
    if (!idx) return [undefined];
    const a = axis(intAttribute(c.node, 'axis', 0), x!.dims.length);
    return same(x!, [...x!.dims.slice(0, a), ...idx.dims, ...x!.dims.slice(a + 1)]);
  }),
  moves(['Pad'], (c) => {
    const x = c.inputs[0]!;
    const pads = attrOrInput(c, 'pads', 1, 11);
    if (!pads) return [undefined];
    const axes =
      (c.opset >= 18 && c.node.input[3] ? c.constant(3) : undefined)?.map((a) => axis(a, x.dims.length)) ??
      x.dims.map((_, i) => i);
    const dims = [...x.dims];
    axes.forEach((a, i) => {
      const d = dims[a];
      dims[a] =
        typeof d === 'number' ? d + pads[i] + pads[i + axes.length] : pads[i] + pads[i + axes.length] === 0 ? d : null;
    });
    return same(x, dims);
  }),
  {
    ops: ['Resize', 'Upsample'],
    infer: (c) => same(c.inputs[0]!, resize(c)),
    // Linear modes blend 2 inputs per resized axis; nearest copies.
    flops: (c, out) => (String(getAttribute(c.node, 'mode') ?? 'nearest') === 'nearest' ? 0 : 3 * count(out[0].dims)),
  },
  moves(['Squeeze'], (c) => {
    const x = c.inputs[0]!;
    const axes = attrOrInput(c, 'axes', 1, 13)?.map((a) => axis(a, x.dims.length));
    return same(x, axes ? x.dims.filter((_, i) => !axes.includes(i)) : x.dims.filter((d) => d !== 1));
  }),
  moves(['Unsqueeze'], (c) => {
    const x = c.inputs[0]!;
    const axes = attrOrInput(c, 'axes', 1, 13);
    if (!axes) return [undefined];
    const rank = x.dims.length + axes.length;
    const at = new Set(axes.map((a) => axis(a, rank)));
    const rest = [...x.dims];
    return same(
      x,
      Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : rest.shift()!)),
    );
  }),
  moves(['Shape'], (c) => [{ elemType: DataType.INT64, dims: [c.inputs[0]!.dims.length] }]),
];

/** Constant has no inputs, so the walk asks it directly. */
export const constantRule: OpRule = moves(['Constant'], (c) => [constantValue(c.node)]);

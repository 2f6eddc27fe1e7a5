/** Reductions and normalisations: Reduce*, Softmax, LpNormalization, BatchNormalization, ... */
import { intAttribute, intsAttribute } from '../build.js';
import { axis, count } from './dims.js';
import type { OpContext, OpRule, ValueType } from './types.js';

const REDUCE = [
  'ReduceSum',
  'ReduceMean',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceSumSquare',
  'ReduceLogSum',
  'ReduceLogSumExp',
];

/** ReduceSum took its axes as an input from opset 13, the other reductions from opset 18. */
function reduceAxes(c: OpContext): number[] | undefined | 'unknown' {
  const asInput = c.node.opType === 'ReduceSum' ? c.opset >= 13 : c.opset >= 18;
  if (!asInput) return intsAttribute(c.node, 'axes');
  if (!c.node.input[1]) return undefined;
  return c.constant(1) ?? 'unknown';
}

function reduceInfer(c: OpContext): (ValueType | undefined)[] {
  const x = c.inputs[0]!;
  const axes = reduceAxes(c);
  if (axes === 'unknown') return [undefined];
  const keep = intAttribute(c.node, 'keepdims', 1) === 1;
  const noop = axes === undefined || axes.length === 0;
  if (noop && intAttribute(c.node, 'noop_with_empty_axes', 0) === 1) return [{ ...x }];
  const set = new Set((noop ? x.dims.map((_, i) => i) : axes).map((a) => axis(a, x.dims.length)));
  const dims = keep ? x.dims.map((d, i) => (set.has(i) ? 1 : d)) : x.dims.filter((_, i) => !set.has(i));
  return [{ elemType: x.elemType, dims }];
}

const sameAsInput = (c: OpContext): (ValueType | undefined)[] =>
  c.node.output.map((_, i) => (i === 0 ? { ...c.inputs[0]!, dims: [...c.inputs[0]!.dims] } : undefined));

export const reduceRules: OpRule[] = [
  // One operation per input element (squares and logs of L2 / LogSum add one more per element or output).
  {
    ops: REDUCE,
    infer: reduceInfer,
    flops: (c) =>
      count(c.inputs[0]!.dims) *
      (['ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp'].includes(c.node.opType ?? '') ? 2 : 1),
  },
  // exp, sum and divide per element.
  { ops: ['Softmax', 'LogSoftmax'], infer: sameAsInput, flops: (c) => 3 * count(c.inputs[0]!.dims) },
  // square, sum and scale per element.
  { ops: ['LpNormalization'], infer: sameAsInput, flops: (c) => 3 * count(c.inputs[0]!.dims) },
  // Inference form: one multiply-add per element with the folded scale and shift.
  { ops: ['BatchNormalization'], infer: sameAsInput, flops: (c) => 2 * count(c.inputs[0]!.dims) },
  // Mean, variance, normalise, scale and shift.
  {
    ops: ['InstanceNormalization', 'LayerNormalization'],
    infer: sameAsInput,
    flops: (c) => 5 * count(c.inputs[0]!.dims),
  },
];

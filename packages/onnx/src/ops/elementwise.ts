/** Element-wise ops: unary activations, broadcasting binary and variadic ops, comparisons, Cast, Where. */
import { intAttribute } from '../build.js';
import { DataType } from '../types.js';
import { broadcast, count } from './dims.js';
import type { OpRule, ValueType } from './types.js';

const UNARY = [
  'Relu',
  'Sigmoid',
  'Tanh',
  'Exp',
  'Log',
  'Sqrt',
  'Abs',
  'Neg',
  'Reciprocal',
  'Elu',
  'Selu',
  'Celu',
  'LeakyRelu',
  'HardSigmoid',
  'HardSwish',
  'Softplus',
  'Softsign',
  'ThresholdedRelu',
  'Erf',
  'Gelu',
  'Mish',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Sin',
  'Cos',
  'Clip',
  'Identity',
  'Dropout',
  'Not',
];
const BINARY = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'And', 'Or', 'Xor'];
const VARIADIC = ['Max', 'Min', 'Sum', 'Mean'];
const COMPARE = ['Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Equal'];

function broadcastAll(types: (ValueType | undefined)[], c: Parameters<OpRule['infer']>[0]): ValueType | undefined {
  if (types.some((t) => t === undefined)) return undefined;
  let dims = types[0]!.dims;
  for (const t of types.slice(1)) dims = broadcast(dims, t!.dims, c.node);
  return { elemType: types[0]!.elemType, dims };
}

export const elementwiseRules: OpRule[] = [
  {
    ops: UNARY,
    infer: (c) => {
      const x = c.inputs[0]!;
      // Dropout's second output is its boolean mask.
      return c.node.output.map((_, i) => (i === 0 ? { ...x } : { elemType: DataType.BOOL, dims: [...x.dims] }));
    },
    flops: (c, out) => (['Identity', 'Dropout'].includes(c.node.opType ?? '') ? 0 : count(out[0].dims)),
  },
  { ops: BINARY, infer: (c) => [broadcastAll(c.inputs.slice(0, 2), c)] },
  {
    ops: VARIADIC,
    infer: (c) => [broadcastAll(c.inputs, c)],
    flops: (c, out) =>
      count(out[0].dims) * Math.max(1, c.inputs.length - 1) + (c.node.opType === 'Mean' ? 1 : 0) * count(out[0].dims),
  },
  {
    ops: COMPARE,
    infer: (c) => {
      const t = broadcastAll(c.inputs.slice(0, 2), c);
      return [t && { elemType: DataType.BOOL, dims: t.dims }];
    },
  },
  {
    ops: ['Where'],
    infer: (c) => {
      const t = broadcastAll(c.inputs.slice(0, 3), c);
      return [t && { elemType: c.inputs[1]!.elemType, dims: t.dims }];
    },
  },
  {
    ops: ['PRelu'],
    infer: (c) => [broadcastAll(c.inputs.slice(0, 2), c)],
  },
  {
    ops: ['Cast'],
    infer: (c) => [{ elemType: intAttribute(c.node, 'to', 0), dims: [...c.inputs[0]!.dims] }],
    flops: () => 0,
  },
];

/** QDQ quantisation ops. */
import { intAttribute } from '../build.js';
import { DataType } from '../types.js';
import { count } from './dims.js';
import type { OpRule } from './types.js';

export const quantRules: OpRule[] = [
  {
    ops: ['QuantizeLinear'],
    infer: (c) => {
      // The zero point's type, else output_dtype (opset 21), else uint8.
      const elemType = c.inputs[2]?.elemType ?? (intAttribute(c.node, 'output_dtype', 0) || DataType.UINT8);
      return [{ elemType, dims: [...c.inputs[0]!.dims] }];
    },
    // divide, round, add zero point, saturate
    flops: (c) => 2 * count(c.inputs[0]!.dims),
  },
  {
    ops: ['DequantizeLinear'],
    infer: (c) => [{ elemType: c.inputs[1]?.elemType ?? DataType.FLOAT, dims: [...c.inputs[0]!.dims] }],
    // subtract zero point, multiply
    flops: (c) => 2 * count(c.inputs[0]!.dims),
  },
];

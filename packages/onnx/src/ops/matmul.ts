/** Gemm and MatMul. */
import { intAttribute } from '../build.js';
import type { Dim } from '../build.js';
import { broadcast, count } from './dims.js';
import type { OpRule } from './types.js';

export const matmulRules: OpRule[] = [
  {
    ops: ['Gemm'],
    infer: (c) => {
      const [a, b] = c.inputs;
      if (!b) return [undefined];
      const m = intAttribute(c.node, 'transA', 0) ? a!.dims[1] : a!.dims[0];
      const n = intAttribute(c.node, 'transB', 0) ? b.dims[0] : b.dims[1];
      return [{ elemType: a!.elemType, dims: [m, n] }];
    },
    flops: (c, out) => {
      const a = c.inputs[0]!;
      const k = intAttribute(c.node, 'transA', 0) ? a.dims[0] : a.dims[1];
      return count(out[0].dims) * (2 * count([k]) + (c.inputs[2] ? 1 : 0));
    },
  },
  {
    ops: ['MatMul'],
    infer: (c) => {
      const [a, b] = c.inputs;
      if (!b) return [undefined];
      // numpy.matmul: 1-D operands get a dimension prepended (a) or appended (b), removed again afterwards.
      const ad: Dim[] = a!.dims.length === 1 ? [1, a!.dims[0]] : a!.dims;
      const bd: Dim[] = b.dims.length === 1 ? [b.dims[0], 1] : b.dims;
      const batch = broadcast(ad.slice(0, -2), bd.slice(0, -2), c.node);
      const dims = [...batch];
      if (a!.dims.length > 1) dims.push(ad[ad.length - 2]);
      if (b.dims.length > 1) dims.push(bd[bd.length - 1]);
      return [{ elemType: a!.elemType, dims }];
    },
    flops: (c, out) => {
      const a = c.inputs[0]!;
      return 2 * count(out[0].dims) * count([a.dims[a.dims.length - 1]]);
    },
  },
];

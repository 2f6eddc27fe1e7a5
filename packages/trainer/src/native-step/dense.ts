/** Dense (rank-2 input, bias, linear / relu / softmax) as sgemm (the addon's matmul) with bias + ReLU in place. */
import { softmaxBackward, softmaxRows } from './activation.js';
import { biasActBackward, biasActForward, kernelAndBias } from './bias.js';
import type { LayerHandler, RunContext } from './types.js';

export const dense: LayerHandler = ({ layer, config, inShape, outShape, input, output }) => {
  const act = config.activation ?? 'linear';
  if (act !== 'relu' && act !== 'linear' && act !== 'softmax') return `activation ${String(act)}`;
  if (inShape.length !== 1) return `input rank ${inShape.length + 1} (Flatten first)`;
  const kb = kernelAndBias(layer, config);
  if (typeof kb === 'string') return kb;
  const { kernel, bias, weights } = kb;
  const [units, k] = [outShape[0], inShape[0]];
  // matmul dims: batchA batchB m k n flags (bit 0: a stored [k, m]; bit 1: b stored [n, k])
  const dims = (ctx: RunContext, key: string, d: number[]) => {
    const a = ctx.scratch(key, 6);
    a.set(d);
    return a;
  };
  return {
    label: `${layer.name} (Dense)`,
    weights,
    forward(ctx) {
      const y = ctx.value(output);
      ctx.k.matmul(ctx.value(input), ctx.weight(kernel), y, dims(ctx, 'fwd', [1, 1, ctx.n, k, units, 0]));
      biasActForward(ctx, y, bias, act === 'relu');
      if (act === 'softmax') softmaxRows(y, y, units);
    },
    backward(ctx) {
      const dy = ctx.grad(output);
      const y = ctx.value(output);
      // (softmax and relu exclusive: the bias gradient sums dy after softmax's backward)
      if (act === 'softmax') softmaxBackward(dy, y, units);
      biasActBackward(ctx, dy, y, bias, act === 'relu');
      // dW = x^T dy, dx = dy W^T
      ctx.k.matmul(ctx.value(input), dy, ctx.weightGrad(kernel), dims(ctx, 'dw', [1, 1, k, ctx.n, units, 1]));
      const dx = ctx.gradOut(input);
      if (dx) {
        ctx.k.matmul(dy, ctx.weight(kernel), dx, dims(ctx, 'dx', [1, 1, ctx.n, units, k, 2]));
        ctx.gradDone(input);
      }
    },
  };
};

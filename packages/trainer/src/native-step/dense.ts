/** Dense (rank-2 input, bias, linear / relu / softmax) as sgemm (the addon's matmul) with bias + ReLU in place. */
import { softmaxBackward, softmaxRows } from './activation.js';
import { stepWeight, unsupportedRegularizers } from './weights.js';
import type { LayerHandler, RunContext } from './types.js';

export const dense: LayerHandler = ({ layer, config, inShape, outShape, input, output }) => {
  const act = config.activation ?? 'linear';
  if (act !== 'relu' && act !== 'linear' && act !== 'softmax') return `activation ${String(act)}`;
  const bad = unsupportedRegularizers(config, ['biasRegularizer', 'activityRegularizer']);
  if (bad) return bad;
  if (inShape.length !== 1) return `input rank ${inShape.length + 1} (Flatten first)`;
  const kernel = stepWeight(layer, 'kernel', config.kernelRegularizer);
  if (typeof kernel === 'string') return kernel;
  const bias = config.useBias === false ? undefined : stepWeight(layer, 'bias');
  if (typeof bias === 'string') return bias;
  const [units, k] = [outShape[0], inShape[0]];
  // matmul dims: batchA batchB m k n flags (bit 0: a stored [k, m]; bit 1: b stored [n, k])
  const dims = (ctx: RunContext, key: string, d: number[]) => {
    const a = ctx.scratch(key, 6);
    a.set(d);
    return a;
  };
  return {
    label: `${layer.name} (Dense)`,
    input,
    output,
    weights: bias ? [kernel, bias] : [kernel],
    forward(ctx) {
      const y = ctx.value(output);
      ctx.k.matmul(ctx.value(input), ctx.weight(kernel), y, dims(ctx, 'fwd', [1, 1, ctx.n, k, units, 0]));
      if (bias) ctx.k.stepBiasAct(y, ctx.weight(bias), act === 'relu' ? 1 : 0);
      else if (act === 'relu') ctx.k.stepRelu(y, y);
      if (act === 'softmax') softmaxRows(y, y, units);
    },
    backward(ctx) {
      const dy = ctx.grad(output);
      const y = ctx.value(output);
      if (act === 'relu') ctx.k.stepReluGrad(dy, y);
      if (act === 'softmax') softmaxBackward(dy, y, units);
      // dW = x^T dy, db = column sums of dy, dx = dy W^T
      ctx.k.matmul(ctx.value(input), dy, ctx.weightGrad(kernel), dims(ctx, 'dw', [1, 1, k, ctx.n, units, 1]));
      if (bias) ctx.k.reduceRows(dy, ctx.weightGrad(bias), 1);
      const dx = ctx.gradOut(input);
      if (dx) {
        ctx.k.matmul(dy, ctx.weight(kernel), dx, dims(ctx, 'dx', [1, 1, ctx.n, units, k, 2]));
        ctx.gradDone(input);
      }
    },
  };
};

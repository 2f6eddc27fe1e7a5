/** Activation (relu, softmax, linear over the last axis) and the row-wise softmax the Dense op shares. */
import type { LayerHandler } from './types.js';

/** y = softmax(x) over rows of `dim` (in place allowed): exp(x - max) / sum, accumulated in double. */
export function softmaxRows(x: Float32Array, y: Float32Array, dim: number): void {
  for (let off = 0; off < x.length; off += dim) {
    let max = -Infinity;
    for (let j = 0; j < dim; j++) max = Math.max(max, x[off + j]);
    let sum = 0;
    for (let j = 0; j < dim; j++) {
      const e = Math.exp(x[off + j] - max);
      y[off + j] = e;
      sum += e;
    }
    for (let j = 0; j < dim; j++) y[off + j] /= sum;
  }
}

/** dy := y * (dy - <dy, y>) per row, in place (tfjs's softmax gradient). */
export function softmaxBackward(dy: Float32Array, y: Float32Array, dim: number): void {
  for (let off = 0; off < dy.length; off += dim) {
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += dy[off + j] * y[off + j];
    for (let j = 0; j < dim; j++) dy[off + j] = y[off + j] * (dy[off + j] - dot);
  }
}

export const activation: LayerHandler = ({ layer, config, outShape, input, output }) => {
  const act = config.activation;
  if (act === 'linear') return 'alias';
  if (act !== 'relu' && act !== 'softmax') return `activation ${String(act)}`;
  const dim = outShape[outShape.length - 1];
  return {
    label: `${layer.name} (Activation ${act})`,
    weights: [],
    forward(ctx) {
      if (act === 'relu') ctx.k.stepRelu(ctx.value(input), ctx.value(output));
      else softmaxRows(ctx.value(input), ctx.value(output), dim);
    },
    backward(ctx) {
      const dx = ctx.gradOut(input);
      if (!dx) return;
      const dy = ctx.grad(output);
      const y = ctx.value(output);
      dx.set(dy);
      if (act === 'relu') ctx.k.stepReluGrad(dx, y);
      else softmaxBackward(dx, y, dim);
      ctx.gradDone(input);
    },
  };
};

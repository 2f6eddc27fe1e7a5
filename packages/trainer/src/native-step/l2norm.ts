/**
 * The embedding head's L2 normalisation over the last axis (the Lambda `l2norm` of @semembed/architectures and
 * model.ts's L2Normalize): y = x / sqrt(max(sum x^2, 1e-12)). Rows of ~10 values: plain loops.
 * Gradient as tfjs's autodiff of x * rsqrt(maximum(sum(x^2), 1e-12)): dx = r dy - r^3 x <dy, x> where the sum
 * reaches the maximum (>= 1e-12), else r dy.
 */
import type { LayerHandler } from './types.js';

export const l2Normalize: LayerHandler = ({ layer, outShape, input, output }) => {
  const fn = (layer as unknown as { fn?: string }).fn;
  const cls = layer.getClassName();
  if (cls === 'Lambda' && fn === 'identity') return 'alias';
  if (cls === 'Lambda' && fn !== 'l2norm') return `lambda ${String(fn)}`;
  const dim = outShape[outShape.length - 1];
  return {
    label: `${layer.name} (l2norm)`,
    input,
    output,
    weights: [],
    forward(ctx) {
      const x = ctx.value(input);
      const y = ctx.value(output);
      const r = ctx.scratch('r', ctx.n);
      const big = ctx.scratch('big', ctx.n);
      for (let i = 0; i < ctx.n; i++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += x[i * dim + j] * x[i * dim + j];
        big[i] = s >= 1e-12 ? 1 : 0;
        r[i] = 1 / Math.sqrt(Math.max(s, 1e-12));
        for (let j = 0; j < dim; j++) y[i * dim + j] = x[i * dim + j] * r[i];
      }
    },
    backward(ctx) {
      const dx = ctx.gradOut(input);
      if (!dx) return;
      const x = ctx.value(input);
      const dy = ctx.grad(output);
      const r = ctx.scratch('r', ctx.n);
      const big = ctx.scratch('big', ctx.n);
      for (let i = 0; i < ctx.n; i++) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += dy[i * dim + j] * x[i * dim + j];
        const k = big[i] ? r[i] * r[i] * r[i] * dot : 0;
        for (let j = 0; j < dim; j++) dx[i * dim + j] = r[i] * dy[i * dim + j] - k * x[i * dim + j];
      }
      ctx.gradDone(input);
    },
  };
};

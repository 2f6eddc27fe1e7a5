/**
 * The embedding head's L2 normalisation over the last axis (the Lambda `l2norm` of @semembed/architectures and
 * model.ts's L2Normalize): y = x / sqrt(max(sum x^2, 1e-12)). Rows of ~10 values: plain loops.
 * Gradient as tfjs's autodiff of x * rsqrt(maximum(sum(x^2), 1e-12)): dx = r dy - r^3 x <dy, x> where the sum
 * reaches the maximum (>= 1e-12), else r dy.
 */
import type { LayerHandler, RunContext } from './types.js';

/** sum of a[off + j] * b[off + j] over the row's `dim` values. */
function rowDot(a: Float32Array, b: Float32Array, off: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += a[off + j] * b[off + j];
  return s;
}

/** Per row, kept from forward to backward: r = 1 / sqrt(max(sum x^2, 1e-12)), big = the sum reached 1e-12. */
const rowFactors = (ctx: RunContext) => ({ r: ctx.scratch('r', ctx.n), big: ctx.scratch('big', ctx.n) });

export const l2Normalize: LayerHandler = ({ layer, outShape, input, output }) => {
  const fn = (layer as unknown as { fn?: string }).fn;
  const cls = layer.getClassName();
  if (cls === 'Lambda' && fn === 'identity') return 'alias';
  if (cls === 'Lambda' && fn !== 'l2norm') return `lambda ${String(fn)}`;
  const dim = outShape[outShape.length - 1];
  return {
    label: `${layer.name} (l2norm)`,
    weights: [],
    forward(ctx) {
      const x = ctx.value(input);
      const y = ctx.value(output);
      const { r, big } = rowFactors(ctx);
      for (let i = 0; i < ctx.n; i++) {
        const s = rowDot(x, x, i * dim, dim);
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
      const { r, big } = rowFactors(ctx);
      for (let i = 0; i < ctx.n; i++) {
        const k = big[i] ? r[i] * r[i] * r[i] * rowDot(dy, x, i * dim, dim) : 0;
        for (let j = 0; j < dim; j++) dx[i * dim + j] = r[i] * dy[i * dim + j] - k * x[i * dim + j];
      }
      ctx.gradDone(input);
    },
  };
};

/**
 * What Conv2D and Dense share around their product: the kernel (with its L2) and optional bias, y = act(y + b) in
 * place on the product's output (step-kernels.cc's stepBiasAct / stepRelu), and that part's gradient.
 */
import type * as tfType from '@tensorflow/tfjs';
import { stepWeight, unsupportedRegularizers } from './weights.js';
import type { RunContext, StepWeight } from './types.js';

export interface KernelBias {
  kernel: StepWeight;
  bias?: StepWeight;
  /** The op's weights: [kernel, bias] or [kernel]. */
  weights: StepWeight[];
}

/** The layer's kernel and bias (unless useBias is false), or why the native step cannot train them. */
export function kernelAndBias(layer: tfType.layers.Layer, config: Record<string, unknown>): KernelBias | string {
  const bad = unsupportedRegularizers(config, ['biasRegularizer', 'activityRegularizer']);
  if (bad) return bad;
  const kernel = stepWeight(layer, 'kernel', config.kernelRegularizer);
  if (typeof kernel === 'string') return kernel;
  const bias = config.useBias === false ? undefined : stepWeight(layer, 'bias');
  if (typeof bias === 'string') return bias;
  return { kernel, bias, weights: bias ? [kernel, bias] : [kernel] };
}

/** y = relu?(y + bias) in place: one pass over y (none without bias and relu). */
export function biasActForward(ctx: RunContext, y: Float32Array, bias: StepWeight | undefined, relu: boolean): void {
  if (bias) ctx.k.stepBiasAct(y, ctx.weight(bias), relu ? 1 : 0);
  else if (relu) ctx.k.stepRelu(y, y);
}

/** dy *= relu'(y) in place, then the bias gradient (column sums of dy): dy is then the product's gradient. */
export function biasActBackward(
  ctx: RunContext,
  dy: Float32Array,
  y: Float32Array,
  bias: StepWeight | undefined,
  relu: boolean,
): void {
  if (relu) ctx.k.stepReluGrad(dy, y);
  if (bias) ctx.k.reduceRows(dy, ctx.weightGrad(bias), 1);
}

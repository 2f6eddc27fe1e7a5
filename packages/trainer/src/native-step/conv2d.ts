/**
 * Conv2D (NHWC, stride 1, no dilation, bias, linear / relu) as the addon's im2col + sgemm convolution and its two
 * gradients, with the bias and ReLU applied in place on its output (step-kernels.cc).
 */
import { stepWeight, unsupportedRegularizers } from './weights.js';
import type { LayerHandler, RunContext } from './types.js';

const pair = (v: unknown) => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);

export const conv2d: LayerHandler = ({ layer, config, inShape, outShape, input, output, tf }) => {
  const strides = pair(config.strides ?? 1);
  const dilation = pair(config.dilationRate ?? 1);
  const act = config.activation ?? 'linear';
  if (strides.some((s) => s !== 1)) return `strides ${strides.join('x')} (only 1)`;
  if (dilation.some((d) => d !== 1)) return 'dilation';
  if (config.dataFormat !== 'channelsLast') return `data format ${String(config.dataFormat)}`;
  if (act !== 'relu' && act !== 'linear') return `activation ${String(act)}`;
  const bad = unsupportedRegularizers(config, ['biasRegularizer', 'activityRegularizer']);
  if (bad) return bad;
  if (inShape.length !== 3) return `input rank ${inShape.length + 1}`;
  const kernel = stepWeight(layer, 'kernel', config.kernelRegularizer);
  if (typeof kernel === 'string') return kernel;
  const bias = config.useBias === false ? undefined : stepWeight(layer, 'bias');
  if (typeof bias === 'string') return bias;
  const [kh, kw, ci, co] = kernel.variable.shape;
  const [h, w] = inShape;
  const info = tf.backend_util.computeConv2DInfo(
    [1, h, w, ci],
    [kh, kw, ci, co],
    1,
    1,
    config.padding as 'same' | 'valid',
    undefined,
    false,
    'channelsLast',
  );
  if (info.outHeight !== outShape[0] || info.outWidth !== outShape[1] || co !== outShape[2]) return 'output shape';
  const geometry = (ctx: RunContext) => {
    const g = ctx.scratch('geometry', 13);
    g.set([ctx.n, h, w, ci, co, kh, kw, 1, 1, info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth]);
    return g;
  };
  const relu = act === 'relu';
  return {
    label: `${layer.name} (Conv2D)`,
    input,
    output,
    weights: bias ? [kernel, bias] : [kernel],
    forward(ctx) {
      const y = ctx.value(output);
      ctx.k.conv(0, ctx.value(input), ctx.weight(kernel), y, geometry(ctx));
      if (bias) ctx.k.stepBiasAct(y, ctx.weight(bias), relu ? 1 : 0);
      else if (relu) ctx.k.stepRelu(y, y);
    },
    backward(ctx) {
      const dy = ctx.grad(output);
      const g = geometry(ctx);
      if (relu) ctx.k.stepReluGrad(dy, ctx.value(output));
      ctx.k.conv(1, ctx.value(input), dy, ctx.weightGrad(kernel), g);
      if (bias) ctx.k.reduceRows(dy, ctx.weightGrad(bias), 1);
      const dx = ctx.gradOut(input);
      if (dx) {
        ctx.k.conv(2, dy, ctx.weight(kernel), dx, g);
        ctx.gradDone(input);
      }
    },
  };
};

/**
 * Conv2D (NHWC, stride 1, no dilation, bias, linear / relu) as the addon's im2col + sgemm convolution and its two
 * gradients, with the bias and ReLU applied in place on its output (step-kernels.cc).
 */
import { biasActBackward, biasActForward, kernelAndBias } from './bias.js';
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
  if (inShape.length !== 3) return `input rank ${inShape.length + 1}`;
  const kb = kernelAndBias(layer, config);
  if (typeof kb === 'string') return kb;
  const { kernel, bias, weights } = kb;
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
    weights,
    forward(ctx) {
      const y = ctx.value(output);
      ctx.k.conv(0, ctx.value(input), ctx.weight(kernel), y, geometry(ctx));
      biasActForward(ctx, y, bias, relu);
    },
    backward(ctx) {
      const dy = ctx.grad(output);
      const g = geometry(ctx);
      biasActBackward(ctx, dy, ctx.value(output), bias, relu);
      ctx.k.conv(1, ctx.value(input), dy, ctx.weightGrad(kernel), g);
      const dx = ctx.gradOut(input);
      if (dx) {
        ctx.k.conv(2, dy, ctx.weight(kernel), dx, g);
        ctx.gradDone(input);
      }
    },
  };
};

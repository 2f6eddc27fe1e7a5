/**
 * BatchNormalization in training mode over the last axis: batch mean and biased variance (the addon's
 * bnForward / bnBackward, as bn-train.ts runs them for tfjs), and the moving statistics as the TF.js path leaves
 * them: tfjs's moving average v - (v - value) * (1 - momentum), then fit.ts's Bessel correction of the variance
 * (batchnorm.ts), each step in float32 as those tensors compute it.
 */
import { layerVariable, stepWeight, unsupportedRegularizers } from './weights.js';
import type { LayerHandler, StepWeight } from './types.js';

const f = Math.fround;

export const batchNormalization: LayerHandler = ({ layer, config, inShape, input, output }) => {
  const rank = inShape.length + 1;
  const axis = Array.isArray(config.axis) ? (config.axis as number[]) : [config.axis as number];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== rank - 1)) return `axis ${JSON.stringify(config.axis)}`;
  const bad = unsupportedRegularizers(config, ['betaRegularizer', 'gammaRegularizer']);
  if (bad) return bad;
  const C = inShape[inShape.length - 1];
  const eps = config.epsilon as number;
  const momentum = config.momentum as number;
  const gamma = config.scale === false ? undefined : stepWeight(layer, 'gamma');
  const beta = config.center === false ? undefined : stepWeight(layer, 'beta');
  if (typeof gamma === 'string') return gamma;
  if (typeof beta === 'string') return beta;
  const movingMean = layerVariable(layer, 'moving_mean');
  const movingVariance = layerVariable(layer, 'moving_variance');
  if (!movingMean || !movingVariance) return 'no moving statistics';
  const ones = new Float32Array(C).fill(1);
  const zeros = new Float32Array(C);
  const weights = [gamma, beta].filter((w): w is StepWeight => w !== undefined);
  return {
    label: `${layer.name} (BatchNormalization)`,
    weights,
    forward(ctx) {
      const g = gamma ? ctx.weight(gamma) : ones;
      const b = beta ? ctx.weight(beta) : zeros;
      ctx.k.bnForward(ctx.value(input), g, b, ctx.value(output), ctx.scratch('mean', C), ctx.scratch('var', C), eps);
    },
    backward(ctx) {
      const g = gamma ? ctx.weight(gamma) : ones;
      const x = ctx.value(input);
      const dx = ctx.gradOut(input) ?? ctx.scratch('dx', x.length);
      const dgamma = gamma ? ctx.weightGrad(gamma) : ctx.scratch('dgamma', C);
      const dbeta = beta ? ctx.weightGrad(beta) : ctx.scratch('dbeta', C);
      const [mean, variance] = [ctx.scratch('mean', C), ctx.scratch('var', C)];
      ctx.k.bnBackward(x, ctx.grad(output), g, mean, variance, zeros, zeros, dx, dgamma, dbeta, eps);
      ctx.gradDone(input);
    },
    updates(ctx) {
      const decay = f(1 - momentum);
      const m = f(momentum);
      // values per channel in the batch (besselCorrection's perRow * rows)
      const rows = ctx.value(input).length / C;
      const bessel = rows > 1 ? f(rows / (rows - 1)) : 1;
      const move = (old: Float32Array, value: Float32Array, unbias: boolean) => {
        const out = new Float32Array(C);
        for (let c = 0; c < C; c++) {
          const tfjs = f(old[c] - f(f(old[c] - value[c]) * decay));
          if (!unbias || rows <= 1) out[c] = tfjs;
          else {
            const mOld = f(old[c] * m);
            out[c] = f(mOld + f(f(tfjs - mOld) * bessel));
          }
        }
        return out;
      };
      return [
        { variable: movingMean, values: move(movingMean.dataSync() as Float32Array, ctx.scratch('mean', C), false) },
        {
          variable: movingVariance,
          values: move(movingVariance.dataSync() as Float32Array, ctx.scratch('var', C), true),
        },
      ];
    },
  };
};

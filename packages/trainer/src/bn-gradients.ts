/**
 * Gradients that the wasm backend computes faster with the same math as tfjs-core's (registered by
 * registerFastWasmKernels; other backends keep tfjs's gradients, and the tests compare against them on cpu).
 */
import type * as tfType from '@tensorflow/tfjs';

type Tf = typeof tfType;

let bnGradInstalled = false;

/**
 * tfjs-core's FusedBatchNorm gradient tiles 1/sqrt(var) to the full NHWC shape before multiplying; wasm's Tile
 * is a slow generic loop (a third of a training step of a small CNN). The same math with broadcasting and
 * shared per-channel reductions; other backends keep tfjs's gradient (the tests compare against it on cpu).
 */
/**
 * tfjs-core's Sum and Mean gradients multiply dy by `ones(x.shape)` built as a JS array and uploaded each time
 * (a fifth of a training step with BatchNorm moments); broadcasting dy (a Tile, see above) gives the same values.
 */
function registerReductionGradients(tf: Tf): void {
  for (const name of ['Sum', 'Mean'] as const) {
    const original = tf.getGradient(name);
    if (!original) continue;
    tf.registerGradient({
      kernelName: name,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32') return original.gradFunc(dy, saved, attrs);
        const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
        const keep = x.shape.slice();
        for (const a of axes) keep[a] = 1;
        const count = axes.reduce((p, a) => p * x.shape[a], 1);
        return {
          x: () => {
            const b = tf.broadcastTo(tf.reshape(dy as tfType.Tensor, keep), x.shape);
            return name === 'Mean' ? tf.div(b, count) : b;
          },
        };
      },
    });
  }
}

export function registerBatchNormGradient(tf: Tf): void {
  if (bnGradInstalled) return;
  registerReductionGradients(tf);
  const original = tf.getGradient('FusedBatchNorm');
  if (!original) return;
  tf.registerGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      if (tf.getBackend() !== 'wasm' || mean.rank !== 1) return original.gradFunc(dy, saved, attrs);
      const eps = (attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
      const g = dy as tfType.Tensor;
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      const s = scale ?? tf.scalar(1);
      const r = tf.rsqrt(tf.add(variance, eps)); // [C]
      const sumDy = tf.sum(g, axes); // [C]
      const sumDyXm = tf.sum(tf.mul(g, tf.sub(x, mean)), axes); // [C]
      return {
        x: () => tf.mul(g, tf.mul(r, s)),
        mean: () => tf.neg(tf.mul(tf.mul(sumDy, r), s)),
        variance: () => tf.mul(tf.mul(sumDyXm, s), tf.mul(tf.pow(r, 3), -0.5)),
        scale: () => tf.mul(sumDyXm, r),
        offset: () => sumDy,
      };
    },
  });
  bnGradInstalled = true;
}

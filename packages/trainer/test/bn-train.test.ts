import { describe, it, expect } from 'vitest';
import type * as tfType from '@tensorflow/tfjs';
import type { Tf } from '../src/backend.js';
import { loadNativeConv } from '../src/native-conv.js';
import { BN_TRAIN } from '../src/bn-train.js';
import { randArr, size } from './kernel-cases.js';
import { bnTraining, nativeAddonOptional, relErr, wasmKernelSuite } from './helpers.js';

// BatchNormalization's training path on wasm is one native kernel forward and one backward (src/bn-train.ts);
// tfjs's own composition (tf.moments + tf.batchNorm and the tape's gradients) on the cpu backend is the reference.
const { native } = loadNativeConv();

type T = tfType.Tensor;

describe('fused BatchNormalization training kernels (wasm) against tfjs on cpu', () => {
  let tf: Tf;
  wasmKernelSuite(BN_TRAIN, 'bnForward', (t) => (tf = t));

  // Outputs and gradients (bnTraining in helpers.ts) of the fused kernel on wasm vs tfjs's composition on cpu.
  const shapes = [
    [4, 5, 6, 3],
    [20, 14, 14, 8],
    [9, 7],
  ];
  for (const shape of shapes) {
    it(`forward and gradients on x${shape} equal tf.moments + tf.batchNorm on cpu`, async () => {
      if (!native?.bnForward) return expect(nativeAddonOptional).toBe(true);
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          return bnTraining(tf, shape, 3, backend === 'wasm').outs.map((t, j) => {
            if (t.isDisposed) throw new Error(`${backend} ${j}`);
            return t.dataSync() as Float32Array;
          });
        });
      };
      const ref = await run('cpu');
      const got = await run('wasm');
      const names = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
      for (let i = 0; i < ref.length; i++) {
        expect(got[i].length, names[i]).toBe(ref[i].length);
        expect(relErr(got[i], ref[i]), names[i]).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  it("a BatchNormalization layer in training runs the fused kernel and matches tfjs's layer on cpu", async () => {
    if (!native?.bnForward) return expect(nativeAddonOptional).toBe(true);
    const shape = [6, 5, 5, 4];
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });
      layer.build(shape);
      layer.setWeights([
        tf.tensor1d([1.5, 0.5, 1, 2]),
        tf.tensor1d([0.1, -0.2, 0.3, 0]),
        tf.tensor1d([0.2, 0.1, 0, -0.1]),
        tf.tensor1d([1, 2, 0.5, 1]),
      ]);
      const x = tf.tensor4d(randArr(size(shape), 7), shape as never);
      const w = tf.tensor4d(randArr(size(shape), 8), shape as never);
      const vars = layer.trainableWeights.map((v) => v.read() as tfType.Variable);
      const kernels: string[] = [];
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(layer.apply(x, { training: true }) as T, w)) as tfType.Scalar,
          vars,
        );
        const dx = tf.grad((xx: T) => tf.sum(tf.mul(layer.apply(xx, { training: true }) as T, w)))(x);
        return [value, ...vars.map((v) => grads[v.name]), dx];
      });
      kernels.push(...info.kernelNames);
      const outs = info.result as T[];
      const result = [...outs, ...layer.getWeights().slice(2)].map((t) => t.dataSync() as Float32Array);
      tf.dispose([...outs, x, w]);
      tf.dispose(layer.weights.map((v) => v.read()));
      return { result, kernels };
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    expect(got.kernels).toContain(BN_TRAIN);
    expect(got.kernels).not.toContain('FusedBatchNorm');
    expect(ref.kernels).toContain('FusedBatchNorm');
    // loss, dgamma, dbeta, dx, moving mean and variance (after two training calls on each backend)
    for (let i = 0; i < ref.result.length; i++) {
      expect(relErr(got.result[i], ref.result[i]), `output ${i}`).toBeLessThanOrEqual(1e-5);
    }
  });
});

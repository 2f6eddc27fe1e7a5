import { describe, it, expect } from 'vitest';
import type * as tfType from '@tensorflow/tfjs';
import type { Tf } from '../src/backend.js';
import { KerasSGD } from '../src/fit.js';
import { loadNativeConv } from '../src/native-conv.js';
import { SGD_STEP } from '../src/sgd-kernel.js';
import { randArr, size } from './kernel-cases.js';
import { nativeAddonOptional, relErr, wasmKernelSuite } from './helpers.js';

// KerasSGD on wasm runs one native kernel over all weights (src/sgd-kernel.ts); its tfjs ops on the cpu backend
// are the reference: same weights and momenta after several steps with the lr changing between them.
const { native } = loadNativeConv();

describe('KerasSGD as one native kernel (wasm) against its tfjs ops on cpu', () => {
  let tf: Tf;
  wasmKernelSuite(SGD_STEP, 'sgdStep', (t) => (tf = t));

  const shapes = [[3, 3, 2, 4], [4], [50, 7], [7]];
  // clipnorm 0.5 clips every step (the gradients' norm is ~10); 1e3 never does; 0 is off
  for (const [nesterov, clipnorm] of [
    [false, 0.5],
    [true, 0.5],
    [true, 1e3],
    [false, 0],
  ] as const) {
    it(`nesterov ${nesterov}, clipnorm ${clipnorm}: weights and momenta after 3 steps equal the cpu backend`, async () => {
      if (!native?.sgdStep) return expect(nativeAddonOptional).toBe(true);
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        const vars = shapes.map((s, i) => tf.variable(tf.tensor(randArr(size(s), 30 + i), s), true, `w${backend}${i}`));
        const opt = new KerasSGD(tf, 0.1, { momentum: 0.9, nesterov, clipnorm, decay: 1e-3 });
        const kernels: string[] = [];
        for (let step = 0; step < 3; step++) {
          opt.lr = [0.1, 0.05, 0.2][step];
          const grads: tfType.NamedTensorMap = {};
          vars.forEach((v, i) => {
            grads[v.name] = tf.tensor(
              randArr(size(shapes[i]), 40 + 10 * step + i).map((x) => x * 20),
              shapes[i],
            );
          });
          const info = await tf.profile(() => opt.apply(vars, grads));
          kernels.push(...info.kernelNames);
          tf.dispose(Object.values(grads));
        }
        const out = [...vars, ...vars.map((v) => opt.momenta.get(v.name)!)].map((t) => t.dataSync() as Float32Array);
        opt.dispose();
        tf.dispose(vars);
        return { out, kernels };
      };
      const ref = await run('cpu');
      const got = await run('wasm');
      // one kernel per step (and the momenta's zeros at the first)
      expect(got.kernels.filter((k) => k !== 'ZerosLike')).toEqual([SGD_STEP, SGD_STEP, SGD_STEP]);
      expect(ref.kernels).not.toContain(SGD_STEP);
      for (let i = 0; i < ref.out.length; i++) {
        expect(
          relErr(got.out[i], ref.out[i]),
          `${i < shapes.length ? 'weight' : 'momentum'} ${i % shapes.length}`,
        ).toBeLessThanOrEqual(1e-6);
      }
    });
  }
});

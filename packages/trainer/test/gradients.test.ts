import { describe, it, expect, beforeAll } from 'vitest';
import { selectBackend, type Tf } from '../src/backend.js';
import { relErr } from './helpers.js';
import { loadNativeConv } from '../src/native-conv.js';
import { cases, gradsOn, randArr } from './kernel-cases.js';

// Every gradient the fast wasm kernels produce is compared with the cpu backend's reference kernels.

let tf: Tf;
beforeAll(async () => {
  tf = (await selectBackend('wasm')).tf;
});

describe('wasm gradients match the cpu backend', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const ref = await gradsOn(tf, 'cpu', c);
      const got = await gradsOn(tf, 'wasm', c);
      expect(got.length).toBe(ref.length);
      for (let i = 0; i < ref.length; i++) {
        expect(got[i].length).toBe(ref[i].length);
        // a zero gradient would pass a relative check vacuously
        expect(Math.max(...Array.from(ref[i], Math.abs))).toBeGreaterThan(1e-3);
        expect(relErr(got[i], ref[i])).toBeLessThanOrEqual(1e-4);
      }
    });
  }

  it('per-channel reductions and broadcasts (forward) match cpu', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(randArr(3 * 4 * 5 * 6, 1), [3, 4, 5, 6]);
        const v = tf.tensor1d(randArr(6, 2));
        const v4 = tf.reshape(v, [1, 1, 1, 6]);
        return [
          tf.sum(x, [0, 1, 2]),
          tf.mean(x, [0, 1, 2], true),
          tf.sum(x, [0]),
          tf.mean(x, [1, 0]),
          tf.sum(x, -1),
          tf.mean(x),
          tf.mul(x, v),
          tf.mul(v4, x),
          tf.add(x, v),
          tf.sub(x, v4),
          tf.sub(v, x),
          tf.add(tf.reshape(x, [60, 6]), v),
          tf.broadcastTo(v4, [3, 4, 5, 6]),
          tf.tile(tf.reshape(v, [1, 6]), [7, 1]),
          tf.tile(tf.reshape(v, [6, 1]), [2, 3]),
        ].map((t) => [t.shape, Array.from(t.dataSync())]);
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    for (let i = 0; i < ref.length; i++) {
      expect(got[i][0]).toEqual(ref[i][0]);
      expect(
        relErr(Float32Array.from(got[i][1] as number[]), Float32Array.from(ref[i][1] as number[])),
      ).toBeLessThanOrEqual(1e-6);
    }
  });

  it('registers the replacement kernels on wasm', async () => {
    const choice = await selectBackend('wasm');
    expect(choice.fastKernels).toEqual(
      expect.arrayContaining([
        'Conv2DBackpropFilter',
        'Conv2DBackpropInput',
        'BatchMatMul',
        'MaxPoolGrad',
        'AvgPoolGrad',
        'Sum',
        'Mean',
        'Multiply',
        ...(loadNativeConv().native?.bnForward && process.env.SEMEMBED_FUSED_BN !== '0' ? ['BatchNormTraining'] : []),
        ...(loadNativeConv().native?.reluGrad ? ['Relu gradient'] : []),
      ]),
    );
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
});

describe('a whole layers model (conv, BN in training mode, max-pool, dense, l2norm loss)', () => {
  async function modelGrads(backend: string): Promise<Map<string, Float32Array>> {
    await tf.setBackend(backend);
    const seedInit = (seed: number) => tf.initializers.glorotUniform({ seed });
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [10, 10, 2],
          filters: 4,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: seedInit(1),
        }),
        tf.layers.batchNormalization(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({
          filters: 6,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: seedInit(2),
        }),
        tf.layers.batchNormalization(),
        tf.layers.flatten(),
        tf.layers.dense({ units: 5, kernelInitializer: seedInit(3) }),
      ],
    });
    const out = new Map<string, Float32Array>();
    tf.tidy(() => {
      const x = tf.tensor4d(randArr(4 * 10 * 10 * 2, 5), [4, 10, 10, 2]);
      const t = tf.tensor2d(randArr(4 * 5, 6), [4, 5]);
      const vars = m.trainableWeights.map((w) => (w as unknown as { read(): any }).read());
      const { grads } = tf.variableGrads(() => {
        const y = m.apply(x, { training: true }) as any;
        const n = tf.div(y, tf.sqrt(tf.sum(tf.square(y), -1, true)));
        return tf.mean(tf.sub(1, tf.sum(tf.mul(n, t), -1))) as any;
      }, vars);
      // variable names get a per-model suffix; key by position
      vars.forEach((v: any, i: number) =>
        out.set(
          `${i}:${m.trainableWeights[i].originalName.replace(/\d+/g, '')}`,
          grads[v.name].dataSync() as Float32Array,
        ),
      );
    });
    m.dispose();
    return out;
  }
  it('every trainable variable', async () => {
    const ref = await modelGrads('cpu');
    const got = await modelGrads('wasm');
    expect([...got.keys()]).toEqual([...ref.keys()]);
    for (const [k, r] of ref) {
      expect(relErr(got.get(k)!, r), k).toBeLessThanOrEqual(1e-4);
    }
    expect(ref.size).toBe(10);
  });
});

import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { selectBackend, type Tf } from '../src/backend.js';
import { loadNativeConv, nativeConvPath } from '../src/native-conv.js';
import { nativeAddonOptional, relErr } from './helpers.js';
import type * as tfType from '@tensorflow/tfjs';
import type { Tensor4D } from '@tensorflow/tfjs';

// The native convolutions (im2col + OpenBLAS) replace the wasm backend's Conv2D and its two gradients.
// They must be built on every machine that runs these tests (scripts/build-native-conv.sh from npm ci's
// postinstall); set SEMEMBED_ALLOW_NO_NATIVE_CONV=1 only on a machine without g++/cmake/libopenblas-dev.
const here = path.dirname(fileURLToPath(import.meta.url));
const { native, why } = loadNativeConv();

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

describe('native OpenBLAS convolutions', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await selectBackend('wasm')).tf;
  });

  it('are built and loaded', () => {
    if (!nativeAddonOptional) expect(native, why).toBeDefined();
    expect(why).toMatch(native ? /^native OpenBLAS/ : /^XNNPACK/);
  });

  const geometries: Array<[number[], number[], number, 'same' | 'valid']> = [
    [[2, 7, 9, 3], [3, 3, 3, 4], 1, 'same'],
    [[2, 7, 9, 3], [3, 3, 3, 4], 1, 'valid'],
    [[2, 8, 8, 3], [3, 3, 3, 5], 2, 'same'],
    [[2, 9, 7, 2], [3, 3, 2, 4], 2, 'valid'],
    [[3, 6, 6, 4], [1, 1, 4, 6], 1, 'same'],
    [[2, 6, 6, 4], [1, 1, 4, 3], 2, 'valid'],
    [[2, 9, 9, 2], [4, 4, 2, 3], 2, 'same'],
    [[1, 10, 10, 1], [7, 7, 1, 8], 2, 'same'],
    [[40, 32, 32, 16], [3, 3, 16, 4], 1, 'same'], // many im2col chunks (one image each)
  ];
  for (const [xs, ks, stride, pad] of geometries) {
    it(`forward conv x${xs} k${ks} s${stride} ${pad} on wasm equals the cpu backend`, async () => {
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        return tf.tidy(
          () =>
            tf
              .conv2d(
                tf.tensor4d(
                  rand(
                    xs.reduce((a, b) => a * b),
                    3,
                  ),
                  xs as never,
                ),
                tf.tensor4d(
                  rand(
                    ks.reduce((a, b) => a * b),
                    5,
                  ),
                  ks as never,
                ),
                stride,
                pad,
              )
              .dataSync() as Float32Array,
        );
      };
      const ref = await run('cpu');
      const got = await run('wasm');
      expect(got.length).toBe(ref.length);
      expect(relErr(got, ref)).toBeLessThanOrEqual(1e-5);
    });
  }

  it('gradients over several im2col chunks (filter gradient accumulated) equal the cpu backend', async () => {
    const xs = [40, 32, 32, 16];
    const ks = [3, 3, 16, 4];
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(
          rand(
            xs.reduce((a, b) => a * b),
            7,
          ),
          xs as never,
        );
        const k = tf.tensor4d(
          rand(
            ks.reduce((a, b) => a * b),
            8,
          ),
          ks as never,
        );
        const w = tf.tensor4d(rand(40 * 32 * 32 * 4, 9), [40, 32, 32, 4]);
        return tf
          .grads((a, b) => tf.sum(tf.mul(tf.conv2d(a as Tensor4D, b as Tensor4D, 1, 'same'), w)))([x, k])
          .map((g) => g.dataSync() as Float32Array);
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    expect(relErr(got[0], ref[0])).toBeLessThanOrEqual(1e-4);
    expect(relErr(got[1], ref[1])).toBeLessThanOrEqual(1e-4);
  });

  it('reject arrays that do not match the geometry with a message (no crash)', () => {
    if (!native) return;
    const geo = new Float32Array([1, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 2, 2]);
    expect(() => native.conv(0, new Float32Array(3), new Float32Array(1), new Float32Array(4), geo)).toThrow(
      /array sizes do not match the geometry/,
    );
    expect(() =>
      native.conv(0, new Float32Array(4), new Float32Array(1), new Float32Array(4), new Float32Array(3)),
    ).toThrow(/geometry a Float32Array of 13/);
    expect(createRequire(import.meta.url).resolve(nativeConvPath())).toBe(nativeConvPath());
  });

  it('carry the per-channel BatchNorm loops (reduceRows, channelOp), which reject mismatched sizes', () => {
    if (!native) return;
    // A stale addon without them would silently fall back to the slow JavaScript loops.
    expect(typeof native.reduceRows).toBe('function');
    expect(typeof native.channelOp).toBe('function');
    const out = new Float32Array(3);
    native.reduceRows!(Float32Array.from([1, 2, 3, 4, 5, 6]), out, 0.5);
    expect(Array.from(out)).toEqual([2.5, 3.5, 4.5]);
    expect(() => native.reduceRows!(new Float32Array(7), new Float32Array(3), 1)).toThrow(/not a multiple/);
    expect(() => native.channelOp!(0, new Float32Array(6), new Float32Array(4), new Float32Array(6))).toThrow(
      /sizes do not match/,
    );
    expect(() => native.channelOp!(4 as never, new Float32Array(6), new Float32Array(3), new Float32Array(6))).toThrow(
      /op 0-3/,
    );
  });

  it('per-channel ops on a fashion-cnn-sized activation equal the cpu backend (broadcasts exactly)', async () => {
    const shape = [2, 28, 28, 16] as [number, number, number, number];
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(rand(2 * 28 * 28 * 16, 11), shape);
        const v = tf.tensor1d(rand(16, 12));
        const v4 = tf.reshape(v, [1, 1, 1, 16]);
        const ops = [tf.mul(x, v), tf.mul(v4, x), tf.add(x, v4), tf.sub(x, v), tf.sub(v4, x)];
        const sums = [tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2], true), tf.mean(tf.reshape(x, [1568, 16]), 0)];
        return {
          ops: ops.map((t) => t.dataSync() as Float32Array),
          sums: sums.map((t) => t.dataSync() as Float32Array),
        };
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    for (let i = 0; i < ref.ops.length; i++) expect(got.ops[i]).toEqual(ref.ops[i]);
    for (let i = 0; i < ref.sums.length; i++) expect(relErr(got.sums[i], ref.sums[i])).toBeLessThanOrEqual(1e-5);
  });

  it('batched sgemm (BatchMatMul) on wasm equals the cpu backend for every transpose and a broadcast batch', async () => {
    if (native) expect(typeof native.matmul).toBe('function');
    if (native)
      expect(() =>
        native.matmul!(
          new Float32Array(6),
          new Float32Array(6),
          new Float32Array(4),
          new Float32Array([1, 1, 2, 3, 3, 0]),
        ),
      ).toThrow(/sizes do not match/);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor2d(rand(100 * 300, 21), [100, 300]);
        const w = tf.tensor2d(rand(300 * 40, 22), [300, 40]);
        const bat = tf.tensor3d(rand(3 * 5 * 7, 23), [3, 5, 7]);
        const one = tf.tensor3d(rand(7 * 4, 24), [1, 7, 4]);
        const g = tf.grads((a, b) => tf.sum(tf.square(tf.matMul(a as never, b as never))))([x, w]);
        return [tf.matMul(x, w), tf.matMul(w, x, true, true), tf.matMul(bat, one), ...g].map(
          (t) => t.dataSync() as Float32Array,
        );
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    for (let i = 0; i < ref.length; i++) expect(relErr(got[i], ref[i])).toBeLessThanOrEqual(1e-5);
    if (native) {
      // Rank-2 operands (every dense layer) go to sgemm itself, not to the Transpose + wasm composition: the
      // kernel's result has sgemm's bits.
      const direct = new Float32Array(100 * 40);
      native.matmul!(rand(100 * 300, 21), rand(300 * 40, 22), direct, new Float32Array([1, 1, 100, 300, 40, 0]));
      expect(got[0]).toEqual(direct);
    }
  });

  it('max-pool gradients (2x2/2, 3x3/2 same, ties) on a fashion-cnn-sized activation equal the cpu backend', async () => {
    if (native) expect(typeof native.maxPoolGrad).toBe('function');
    if (native)
      expect(() =>
        native.maxPoolGrad!(new Float32Array(8), new Float32Array(1), new Float32Array(8), new Float32Array(12)),
      ).toThrow(/sizes do not match/);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        // quantised values: many ties inside windows, where the first maximum must win
        const x = tf.round(tf.mul(tf.tensor4d(rand(2 * 28 * 28 * 16, 31), [2, 28, 28, 16]), 6));
        const w = tf.tensor4d(rand(2 * 14 * 14 * 16, 32), [2, 14, 14, 16]);
        const f = (t: tfType.Tensor) =>
          tf.add(
            tf.sum(tf.mul(tf.maxPool(t as Tensor4D, 2, 2, 'valid'), w)),
            tf.sum(tf.maxPool(t as Tensor4D, 3, 2, 'same')),
          );
        return tf.grad(f)(x).dataSync() as Float32Array;
      });
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    expect(got).toEqual(ref);
  });

  it('without them (SEMEMBED_NATIVE_CONV=0) the wasm compositions still match the cpu gradients', () => {
    if (process.env.SEMEMBED_NATIVE_CONV === '0') return; // we are that run
    const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
    const r = spawnSync(
      process.execPath,
      [vitest, 'run', 'test/gradients.test.ts', 'test/native-conv.test.ts', '--reporter', 'dot'],
      {
        cwd: path.join(here, '..'),
        env: { ...process.env, SEMEMBED_NATIVE_CONV: '0' },
        encoding: 'utf8',
        timeout: 170_000,
      },
    );
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out.slice(-2000)).toBe(0);
    expect(out).toMatch(/Tests\s+.*\d+ passed/);
    expect(out).not.toMatch(/failed/);
  }, 180_000);
});

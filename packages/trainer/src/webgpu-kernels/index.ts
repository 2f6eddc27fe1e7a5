/**
 * Kernels we register on tfjs's webgpu backend where its own are wrong for training (checked against the cpu
 * backend in test/webgpu.test.ts). One file per kernel; adding one is a file plus a line in this list.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { WebgpuKernel } from './types.js';
import { addN } from './add-n.js';
import { maxPoolGrad } from './max-pool-grad.js';

const KERNELS: WebgpuKernel[] = [addN, maxPoolGrad];

const installed = new WeakSet<object>();

/** Registers our webgpu kernels once per tfjs instance; returns their names. */
export function registerWebgpuKernels(tf: typeof tfType): string[] {
  if (installed.has(tf.engine())) return KERNELS.map((k) => k.kernelName);
  for (const k of KERNELS) {
    const original = tf.getKernel(k.kernelName, 'webgpu');
    if (!original) throw new Error(`the webgpu backend has no kernel ${k.kernelName}`);
    tf.unregisterKernel(k.kernelName, 'webgpu');
    tf.registerKernel({ kernelName: k.kernelName, backendName: 'webgpu', kernelFunc: k.make(tf, original.kernelFunc) });
  }
  installed.add(tf.engine());
  return KERNELS.map((k) => k.kernelName);
}

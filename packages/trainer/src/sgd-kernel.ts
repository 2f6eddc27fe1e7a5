/**
 * KerasSGD's step (fit.ts) on the wasm backend as one kernel over all weights (native/sgd.cc): tfjs ran ~7
 * kernels per weight tensor (the global norm's square and sum, the clip factor, two products, a difference, a
 * sum) plus the engine's bookkeeping for each; a fashion-cnn step has 14 weight tensors. Same float32 operations
 * in the same order; the global norm is accumulated in double.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { NativeConv } from './native-conv.js';
import type { HeapBackend } from './native-kernels.js';

type Tf = typeof tfType;
type TensorInfo = tfType.TensorInfo;

/** Inputs p<i>, g<i>, m<i> for i < count; attrs count, lr, momentum, nesterov, clipnorm; outputs p0', m0', ... */
export const SGD_STEP = 'SemembedSgdStep';

export interface SgdStepAttrs {
  count: number;
  lr: number;
  momentum: number;
  nesterov: boolean;
  clipnorm: number;
}

export function registerSgdKernel(tf: Tf, backend: HeapBackend, native: NativeConv): boolean {
  const sgdStep = native.sgdStep?.bind(native);
  if (!sgdStep) return false;
  const kernelFunc: tfType.KernelFunc = ({ inputs, attrs }) => {
    const a = attrs as unknown as SgdStepAttrs;
    const ins = inputs as Record<string, TensorInfo>;
    const outs: TensorInfo[] = [];
    for (let i = 0; i < a.count; i++) {
      outs.push(backend.makeOutput(ins[`p${i}`].shape, 'float32'), backend.makeOutput(ins[`p${i}`].shape, 'float32'));
    }
    // Views after every makeOutput: allocating may grow (and detach) the wasm heap.
    const h = (t: TensorInfo) => backend.typedArrayFromHeap(t);
    const arrays: Float32Array[] = [];
    for (let i = 0; i < a.count; i++) {
      arrays.push(h(ins[`p${i}`]), h(ins[`g${i}`]), h(ins[`m${i}`]), h(outs[2 * i]), h(outs[2 * i + 1]));
    }
    sgdStep(arrays, [a.lr, a.momentum, a.nesterov ? 1 : 0, a.clipnorm]);
    return outs;
  };
  if (tf.getKernel(SGD_STEP, 'wasm')) tf.unregisterKernel(SGD_STEP, 'wasm');
  tf.registerKernel({ kernelName: SGD_STEP, backendName: 'wasm', kernelFunc });
  return true;
}

export function unregisterSgdKernel(tf: Tf): void {
  if (tf.getKernel(SGD_STEP, 'wasm')) tf.unregisterKernel(SGD_STEP, 'wasm');
}

/** One step through the kernel when the backend has it: [new weights, new momenta] per variable, else undefined. */
export function sgdStepNative(
  tf: Tf,
  params: tfType.Tensor[],
  grads: tfType.Tensor[],
  momenta: tfType.Tensor[],
  attrs: Omit<SgdStepAttrs, 'count'>,
): tfType.Tensor[] | undefined {
  if (tf.getBackend() !== 'wasm' || tf.getKernel(SGD_STEP, 'wasm') === undefined) return undefined;
  const all = [...params, ...grads, ...momenta];
  if (all.some((t) => t.dtype !== 'float32')) return undefined;
  const inputs: Record<string, tfType.Tensor> = {};
  params.forEach((p, i) => {
    inputs[`p${i}`] = p;
    inputs[`g${i}`] = grads[i];
    inputs[`m${i}`] = momenta[i];
  });
  return tf.engine().runKernel(SGD_STEP, inputs, { ...attrs, count: params.length } as never) as tfType.Tensor[];
}

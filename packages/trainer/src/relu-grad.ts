/**
 * The Relu gradient on the wasm backend as one native pass (native/elementwise.cc): tfjs-core's is
 * `dy * cast(step(x))`, three kernels and two full-size temporaries per activation and step. Other backends keep
 * tfjs's gradient; the tests compare both against the cpu backend.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { NativeConv } from './native-conv.js';
import type { HeapBackend } from './native-kernels.js';

type Tf = typeof tfType;
type TensorInfo = tfType.TensorInfo;

/** Inputs dy, x (float32, same shape); output dy * step(x). */
export const RELU_GRAD = 'SemembedReluGrad';

let gradientInstalled = false;

/** Registers the kernel and the gradient that uses it; false when the addon lacks it. */
export function registerReluGradient(tf: Tf, backend: HeapBackend, native: NativeConv): boolean {
  const reluGrad = native.reluGrad?.bind(native);
  if (!reluGrad) return false;
  const kernelFunc: tfType.KernelFunc = ({ inputs }) => {
    const { dy, x } = inputs as Record<string, TensorInfo>;
    const out = backend.makeOutput(x.shape, 'float32');
    // Views after makeOutput: allocating may grow (and detach) the wasm heap.
    reluGrad(backend.typedArrayFromHeap(dy), backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out));
    return out;
  };
  if (tf.getKernel(RELU_GRAD, 'wasm')) tf.unregisterKernel(RELU_GRAD, 'wasm');
  tf.registerKernel({ kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc });
  if (gradientInstalled) return true;
  const original = tf.getGradient('Relu');
  if (!original) return false;
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const g = dy as tfType.Tensor;
      const native = tf.getBackend() === 'wasm' && tf.getKernel(RELU_GRAD, 'wasm') !== undefined;
      if (!native || x.dtype !== 'float32' || g.dtype !== 'float32') return original.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tfType.Tensor };
    },
  });
  gradientInstalled = true;
  return true;
}

/** Takes the kernel away again (the gradient then falls back to tfjs's). */
export function unregisterReluGradient(tf: Tf): void {
  if (tf.getKernel(RELU_GRAD, 'wasm')) tf.unregisterKernel(RELU_GRAD, 'wasm');
}

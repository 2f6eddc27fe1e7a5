/**
 * BatchNormalization in training on the wasm backend as one native kernel forward and one backward
 * (native/batchnorm.cc). tfjs-layers builds it from tf.moments + tf.batchNorm: with their gradients ~25 kernels
 * per layer and step (Sub, Square, Mean, Cast, FusedBatchNorm, Sum, Multiply, Tile, ...), each a pass over the
 * activation and a tensor to allocate, record and dispose. The layer's training call is replaced while the backend
 * is wasm and the kernel is registered; inference, other backends and unusual layouts (axis not last) keep
 * tfjs's code. Same math: biased batch variance, moving averages written as tfjs writes them (fit.ts's Bessel
 * correction then turns the variance's into Keras 2.2's).
 */
import type * as tfType from '@tensorflow/tfjs';
import type { NativeConv } from './native-conv.js';
import type { HeapBackend } from './native-kernels.js';

type Tf = typeof tfType;
type TensorInfo = tfType.TensorInfo;
type Tensor = tfType.Tensor;

/** Inputs x, gamma, beta; attr varianceEpsilon; outputs y, mean, variance (biased). */
export const BN_TRAIN = 'SemembedBatchNormTrain';
/** Inputs x, dy, gamma, mean, variance, dmean, dvariance; outputs dx, dgamma, dbeta. */
export const BN_TRAIN_GRAD = 'SemembedBatchNormTrainGrad';

interface BnLayer {
  axis: number;
  epsilon: number;
  momentum: number;
  gamma?: { read(): Tensor };
  beta?: { read(): Tensor };
  movingMean: { read(): Tensor; write(t: Tensor): void };
  movingVariance: { read(): Tensor; write(t: Tensor): void };
}
type LayerCall = (this: BnLayer, inputs: Tensor | Tensor[], kwargs: Record<string, unknown>) => Tensor | Tensor[];

const patched = Symbol.for('semembed.bnTrain');

function kernels(backend: HeapBackend, native: Required<Pick<NativeConv, 'bnForward' | 'bnBackward'>>) {
  const eps = (attrs: unknown) => (attrs as { varianceEpsilon: number }).varianceEpsilon;
  const forward: tfType.KernelFunc = ({ inputs, attrs }) => {
    const { x, gamma, beta } = inputs as Record<string, TensorInfo>;
    const C = gamma.shape[0];
    const outs = [backend.makeOutput(x.shape, 'float32'), ...[0, 1].map(() => backend.makeOutput([C], 'float32'))];
    // Views after every makeOutput: allocating may grow (and detach) the wasm heap.
    const h = (t: TensorInfo) => backend.typedArrayFromHeap(t);
    native.bnForward(h(x), h(gamma), h(beta), h(outs[0]), h(outs[1]), h(outs[2]), eps(attrs));
    return outs;
  };
  const backward: tfType.KernelFunc = ({ inputs, attrs }) => {
    const i = inputs as Record<string, TensorInfo>;
    const C = i.gamma.shape[0];
    const outs = [backend.makeOutput(i.x.shape, 'float32'), ...[0, 1].map(() => backend.makeOutput([C], 'float32'))];
    const h = (t: TensorInfo) => backend.typedArrayFromHeap(t);
    const [dx, dgamma, dbeta] = outs.map(h);
    native.bnBackward(
      h(i.x),
      h(i.dy),
      h(i.gamma),
      h(i.mean),
      h(i.variance),
      h(i.dmean),
      h(i.dvariance),
      dx,
      dgamma,
      dbeta,
      eps(attrs),
    );
    return outs;
  };
  return { forward, backward };
}

/** Registers the kernels, their gradient and the layer's training path; false when the addon lacks them. */
export function registerBatchNormTraining(tf: Tf, backend: HeapBackend, native: NativeConv): boolean {
  const { bnForward, bnBackward } = native;
  if (!bnForward || !bnBackward) return false;
  const k = kernels(backend, { bnForward: bnForward.bind(native), bnBackward: bnBackward.bind(native) });
  for (const [kernelName, kernelFunc] of [
    [BN_TRAIN, k.forward],
    [BN_TRAIN_GRAD, k.backward],
  ] as const) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  if (!tf.getGradient(BN_TRAIN)) {
    tf.registerGradient({
      kernelName: BN_TRAIN,
      inputsToSave: ['x', 'gamma'],
      outputsToSave: [false, true, true],
      gradFunc: (dys, saved, attrs) => {
        const [x, gamma, mean, variance] = saved;
        const [dy, dmean, dvariance] = dys as Tensor[];
        // One backward call gives all three gradients. Made here, not in the thunks: the tape runs each thunk in
        // its own tidy, which would dispose the two gradients a thunk does not return.
        const [dx, dgamma, dbeta] = tf
          .engine()
          .runKernel(BN_TRAIN_GRAD, { x, dy, gamma, mean, variance, dmean, dvariance }, attrs as never) as Tensor[];
        return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
      },
    });
  }
  patchLayer(tf);
  return true;
}

/** Takes the kernels away again (the layer then runs tfjs's code), e.g. when re-registering without the addon. */
export function unregisterBatchNormTraining(tf: Tf): void {
  for (const name of [BN_TRAIN, BN_TRAIN_GRAD]) if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
}

function patchLayer(tf: Tf): void {
  // The class from tfjs-layers' serialization registry: instantiating a layer to reach it would advance the
  // auto-naming counter (unnamed layers built later would get other names).
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization as unknown as [
    { prototype: { call: LayerCall; [patched]?: true } },
  ];
  const proto = entry[0].prototype;
  if (proto[patched]) return;
  const original = proto.call;
  proto.call = function (this: BnLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
    const use =
      kwargs?.training === true &&
      x !== undefined &&
      x.dtype === 'float32' &&
      x.rank >= 2 &&
      (this.axis === -1 || this.axis === x.rank - 1) &&
      this.gamma !== undefined &&
      this.beta !== undefined &&
      tf.getBackend() === 'wasm' &&
      tf.getKernel(BN_TRAIN, 'wasm') !== undefined;
    if (!use) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const [y, mean, variance] = tf
        .engine()
        .runKernel(BN_TRAIN, { x, gamma: this.gamma!.read(), beta: this.beta!.read() }, {
          varianceEpsilon: this.epsilon,
        } as never) as Tensor[];
      // tfjs-layers' doMovingAverage: v - (v - value) * (1 - momentum)
      for (const [v, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const old = v.read();
          v.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - this.momentum)));
        });
      }
      return y;
    });
  };
  proto[patched] = true;
}

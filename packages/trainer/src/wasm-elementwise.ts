/**
 * Elementwise kernels of the wasm backend that BatchNorm-style training hits with shapes wasm handles slowly:
 * per-channel reductions over all leading axes, `x (op) per-channel vector` broadcasts, Identity without a copy,
 * and whole-input Tile. Through the native addon (native/elementwise.cc) when it is built, else JavaScript loops
 * on views of the wasm heap. Registered by registerFastWasmKernels (wasm-kernels.ts).
 */
import type * as tfType from '@tensorflow/tfjs';
import type { NativeConv } from './native-conv.js';
import type { KernelRunner, WasmBackendLike } from './wasm-kernels.js';

type Tf = typeof tfType;
type TensorInfo = tfType.TensorInfo;

export function elementwiseKernels(
  tf: Tf,
  backend: WasmBackendLike,
  elementwise: NativeConv | undefined,
  origIdentity: tfType.KernelFunc,
  run: KernelRunner,
): Record<string, tfType.KernelFunc> {
  // Per-channel reductions (BatchNorm moments and their gradients) reduce NHWC over all leading axes; wasm
  // transposes the whole tensor first to make those axes innermost. Accumulating rows into C sums needs no copy.
  const leadingReduction = (name: 'Sum' | 'Mean'): tfType.KernelFunc => {
    const orig = tf.getKernel(name, 'wasm')!.kernelFunc;
    return (args) => {
      const x = args.inputs.x as TensorInfo;
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const rank = x.shape.length;
      const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
      const isLeading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
      if (x.dtype !== 'float32' || !isLeading) return orig(args);
      const inner = x.shape.slice(axes.length).reduce((p, q) => p * q, 1);
      const outer = x.shape.slice(0, axes.length).reduce((p, q) => p * q, 1);
      const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
      const out = backend.makeOutput(outShape, 'float32');
      const xv = backend.typedArrayFromHeap(x);
      const ov = backend.typedArrayFromHeap(out);
      const scale = name === 'Mean' ? 1 / outer : 1;
      if (elementwise?.reduceRows) {
        elementwise.reduceRows(xv, ov, scale);
        return out;
      }
      const acc = new Float64Array(inner);
      for (let r = 0, off = 0; r < outer; r++, off += inner) {
        for (let c = 0; c < inner; c++) acc[c] += xv[off + c];
      }
      for (let c = 0; c < inner; c++) ov[c] = acc[c] * scale;
      return out;
    };
  };

  // x (..., C) op y (C) or (1, ..., 1, C), either order: wasm's generic broadcasting loop recomputes indices
  // per element; per-channel scale/shift is the common case in BatchNorm.
  const channelBroadcast = (name: 'Multiply' | 'Add' | 'Sub'): tfType.KernelFunc => {
    const orig = tf.getKernel(name, 'wasm')!.kernelFunc;
    return (args) => {
      const a = args.inputs.a as TensorInfo;
      const b = args.inputs.b as TensorInfo;
      const size = (t: TensorInfo) => t.shape.reduce((p, q) => p * q, 1);
      const isVec = (t: TensorInfo, full: TensorInfo) => {
        const C = full.shape[full.shape.length - 1];
        return (
          t.shape.length >= 1 &&
          t.shape.length <= full.shape.length &&
          t.shape[t.shape.length - 1] === C &&
          size(t) === C &&
          size(full) > C
        );
      };
      let full: TensorInfo;
      let vec: TensorInfo;
      let vecFirst: boolean;
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return orig(args);
      if (isVec(b, a)) {
        [full, vec, vecFirst] = [a, b, false];
      } else if (isVec(a, b)) {
        [full, vec, vecFirst] = [b, a, true];
      } else return orig(args);
      const out = backend.makeOutput(full.shape, 'float32');
      const fv = backend.typedArrayFromHeap(full);
      const vv = backend.typedArrayFromHeap(vec);
      const ov = backend.typedArrayFromHeap(out);
      const C = vv.length;
      const n = fv.length;
      if (elementwise?.channelOp) {
        elementwise.channelOp(name === 'Multiply' ? 0 : name === 'Add' ? 1 : vecFirst ? 3 : 2, fv, vv, ov);
        return out;
      }
      if (name === 'Multiply') {
        for (let i = 0; i < n; i += C) for (let c = 0; c < C; c++) ov[i + c] = fv[i + c] * vv[c];
      } else if (name === 'Add') {
        for (let i = 0; i < n; i += C) for (let c = 0; c < C; c++) ov[i + c] = fv[i + c] + vv[c];
      } else if (vecFirst) {
        for (let i = 0; i < n; i += C) for (let c = 0; c < C; c++) ov[i + c] = vv[c] - fv[i + c];
      } else {
        for (let i = 0; i < n; i += C) for (let c = 0; c < C; c++) ov[i + c] = fv[i + c] - vv[c];
      }
      return out;
    };
  };

  // tensor.clone() (e.g. cast to the same dtype in the ReLU gradient) copies on wasm; tensors are immutable,
  // so share the buffer by reference count as the cpu backend does.
  const identity: tfType.KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return origIdentity(args);
    return run('Reshape', { x }, { shape: x.shape });
  };

  // Tile that repeats the whole input (all reps on leading size-1 axes), as broadcastTo does for per-channel
  // values: a block copy instead of wasm's per-element index arithmetic.
  const origTile = tf.getKernel('Tile', 'wasm')!.kernelFunc;
  const tile: tfType.KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const reps = (args.attrs as unknown as { reps: number[] }).reps;
    const lead = reps.length - [...reps].reverse().findIndex((r) => r !== 1);
    // axes [0, lead) may repeat and must have size 1 in x; axes >= lead are copied whole
    const ok = x.dtype === 'float32' && lead <= reps.length && x.shape.slice(0, lead).every((d) => d === 1);
    if (!ok) return origTile(args);
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const out = backend.makeOutput(outShape, 'float32');
    const ov = backend.typedArrayFromHeap(out);
    const xv = backend.typedArrayFromHeap(x);
    const block = xv.length;
    if (block === 0) return out;
    ov.set(xv, 0);
    let filled = block;
    while (filled < ov.length) {
      const n = Math.min(filled, ov.length - filled);
      ov.copyWithin(filled, 0, n);
      filled += n;
    }
    return out;
  };

  return {
    Tile: tile,
    Identity: identity,
    Sum: leadingReduction('Sum'),
    Mean: leadingReduction('Mean'),
    Multiply: channelBroadcast('Multiply'),
    Add: channelBroadcast('Add'),
    Sub: channelBroadcast('Sub'),
  };
}

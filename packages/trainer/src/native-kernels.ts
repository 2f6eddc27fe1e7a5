/**
 * The wasm backend's Conv2D, its two gradients and BatchMatMul computed by the native addon (native/conv.cc:
 * im2col + OpenBLAS sgemm; native/matmul.cc: batched sgemm) on views of the wasm heap. Anything the addon does
 * not do (dilation, channels-first, other dtypes, broadcast batch ranks) goes to the given fallbacks (wasm's own
 * kernels or the compositions in wasm-kernels.ts), which the tests compare with the cpu backend as well.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { NativeConv } from './native-conv.js';

type Tf = typeof tfType;
type TensorInfo = tfType.TensorInfo;

export interface HeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

export type NativeKernelName =
  'Conv2D' | 'Conv2DBackpropFilter' | 'Conv2DBackpropInput' | 'BatchMatMul' | 'MaxPool' | 'Relu';

export function convInfoOf(tf: Tf, xShape: number[], filterShape: number[], attrs: Record<string, unknown>) {
  const dataFormat = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`wasm conv gradients support NHWC only, got ${dataFormat}`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

/** Kernel functions under the original names; each falls back to `fallbacks[name]` where it cannot run. */
export function nativeKernels(
  tf: Tf,
  backend: HeapBackend,
  native: NativeConv,
  fallbacks: Record<NativeKernelName, tfType.KernelFunc>,
): Record<NativeKernelName, tfType.KernelFunc> {
  // Same kernel names, computed by im2col + sgemm on views of the wasm heap; anything the addon does not do
  // (dilation, channels-first) goes to the fallbacks.
  const geometry = (info: ReturnType<typeof convInfoOf>) =>
    new Float32Array([
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.inChannels,
      info.outChannels,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
      info.outHeight,
      info.outWidth,
    ]);
  const plain = (a: Record<string, unknown>, ...ts: TensorInfo[]) => {
    const d = a.dilations as number | [number, number] | undefined;
    const undilated = d === undefined || d === 1 || (Array.isArray(d) && d[0] === 1 && d[1] === 1);
    const df = (a.dataFormat as string | undefined) ?? 'NHWC';
    return undilated && (df === 'NHWC' || df === 'channelsLast') && ts.every((t) => t.dtype === 'float32');
  };
  // op 0: y from (x, filter); 1: dw from (x, dy); 2: dx from (dy, filter). The conv geometry comes from the x
  // and filter shapes (given or taken from the attrs); the output has the shape of what is computed.
  const nativeKernel =
    (
      op: 0 | 1 | 2,
      names: [string, string],
      shapes: (a: TensorInfo, b: TensorInfo, attrs: Record<string, unknown>) => { x: number[]; filter: number[] },
      fallback: tfType.KernelFunc,
    ): tfType.KernelFunc =>
    (args) => {
      const a = args.inputs[names[0]] as TensorInfo;
      const b = args.inputs[names[1]] as TensorInfo;
      const attrs = args.attrs as unknown as Record<string, unknown>;
      if (!plain(attrs, a, b)) return fallback(args);
      const s = shapes(a, b, attrs);
      const info = convInfoOf(tf, s.x, s.filter, attrs);
      const yShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
      const outShape = op === 0 ? yShape : op === 1 ? s.filter : s.x;
      const out = backend.makeOutput(outShape, 'float32');
      // Views after makeOutput: allocating may grow (and detach) the wasm heap.
      const heap = backend.typedArrayFromHeap.bind(backend);
      native.conv(op, heap(a), heap(b), heap(out), geometry(info));
      return out;
    };
  const conv2D = nativeKernel(0, ['x', 'filter'], (x, f) => ({ x: x.shape, filter: f.shape }), fallbacks.Conv2D);
  const filterShapes = (x: TensorInfo, _dy: TensorInfo, at: Record<string, unknown>) => ({
    x: x.shape,
    filter: at.filterShape as number[],
  });
  const inputShapes = (_dy: TensorInfo, f: TensorInfo, at: Record<string, unknown>) => ({
    x: at.inputShape as number[],
    filter: f.shape,
  });
  const nativeFilter = nativeKernel(1, ['x', 'dy'], filterShapes, fallbacks.Conv2DBackpropFilter);
  const nativeInput = nativeKernel(2, ['dy', 'filter'], inputShapes, fallbacks.Conv2DBackpropInput);
  // Dense layers and their gradients: sgemm reads transposed operands in place (no Transpose copies).
  const composed = fallbacks.BatchMatMul;
  const nativeMatMul = native.matmul?.bind(native);
  let batchMatMul = composed;
  if (nativeMatMul) {
    batchMatMul = (args) => {
      const a = args.inputs.a as TensorInfo;
      const b = args.inputs.b as TensorInfo;
      const { transposeA: ta, transposeB: tb } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      // tf.matMul hands rank-2 operands (every dense layer) to the kernel as they are: a batch of one.
      const rank = a.shape.length;
      if ((rank !== 2 && rank !== 3) || b.shape.length !== rank || a.dtype !== 'float32' || b.dtype !== 'float32') {
        return composed(args);
      }
      const [sa, sb] =
        rank === 2
          ? [
              [1, ...a.shape],
              [1, ...b.shape],
            ]
          : [a.shape, b.shape];
      if (sa[0] !== sb[0] && sa[0] !== 1 && sb[0] !== 1) return composed(args);
      const [m, k] = ta ? [sa[2], sa[1]] : [sa[1], sa[2]];
      const n = tb ? sb[1] : sb[2];
      if ((tb ? sb[2] : sb[1]) !== k || m === 0 || k === 0 || n === 0) return composed(args);
      const out = backend.makeOutput(rank === 2 ? [m, n] : [Math.max(sa[0], sb[0]), m, n], 'float32');
      const dims = new Float32Array([sa[0], sb[0], m, k, n, (ta ? 1 : 0) | (tb ? 2 : 0)]);
      // Views after makeOutput: allocating may grow (and detach) the wasm heap.
      const heap = backend.typedArrayFromHeap.bind(backend);
      nativeMatMul(heap(a), heap(b), heap(out), dims);
      return out;
    };
  }
  return {
    Conv2D: conv2D,
    Conv2DBackpropFilter: nativeFilter,
    Conv2DBackpropInput: nativeInput,
    BatchMatMul: batchMatMul,
    ...poolAndRelu(tf, backend, native, fallbacks),
  };
}

/**
 * MaxPool and Relu: wasm's are single-threaded passes over the activation (MaxPool 2 ms a fashion-cnn step); the
 * addon's split the images across its threads. The cpu backend's rules: NaN never wins a window, Relu keeps NaN.
 */
function poolAndRelu(
  tf: Tf,
  backend: HeapBackend,
  native: NativeConv,
  fallbacks: Record<NativeKernelName, tfType.KernelFunc>,
): Record<'MaxPool' | 'Relu', tfType.KernelFunc> {
  const maxPool = native.maxPool?.bind(native);
  const relu = native.relu?.bind(native);
  const heap = backend.typedArrayFromHeap.bind(backend);
  const pool: tfType.KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    const a = args.attrs as unknown as Record<string, unknown>;
    if (!maxPool || x.dtype !== 'float32' || x.shape.length !== 4) return fallbacks.MaxPool(args);
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      a.filterSize as [number, number] | number,
      a.strides as [number, number] | number,
      1,
      a.pad as 'same' | 'valid' | number,
      a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    // a 1x1 window of stride 1 is the identity in the cpu backend (NaN kept): wasm's kernel does that
    if (kh * kw === 1 && sh === 1 && sw === 1) return fallbacks.MaxPool(args);
    const [N, H, W, C] = x.shape;
    const out = backend.makeOutput([N, OH, OW, C], 'float32');
    // Views after makeOutput: allocating may grow (and detach) the wasm heap.
    maxPool(
      heap(x),
      heap(out),
      new Float32Array([N, H, W, C, OH, OW, sh, sw, kh, kw, info.padInfo.top, info.padInfo.left]),
    );
    return out;
  };
  const rectify: tfType.KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo;
    if (!relu || x.dtype !== 'float32') return fallbacks.Relu(args);
    const out = backend.makeOutput(x.shape, 'float32');
    relu(heap(x), heap(out));
    return out;
  };
  return { MaxPool: pool, Relu: rectify };
}

/**
 * Trainable convolutions on the TensorFlow.js wasm backend.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel (training a conv layer fails), and its
 * Conv2DBackpropInput, transposed BatchMatMul and MaxPoolGrad are slow generic loops. Every one of these
 * gradients can be written as one of wasm's fast XNNPACK forward kernels plus cheap layout changes, so we
 * register such compositions under the original kernel names: unmodified layers models then train, and the
 * tape never sees the difference (nested kernel calls are not recorded).
 */
import type * as tfType from '@tensorflow/tfjs';
import { loadNativeConv } from './native-conv.js';
import { convInfoOf, nativeKernels } from './native-kernels.js';
import { registerBatchNormGradient } from './bn-gradients.js';
import { elementwiseKernels } from './wasm-elementwise.js';
import { registerReluGradient, unregisterReluGradient } from './relu-grad.js';
import { registerSgdKernel, unregisterSgdKernel } from './sgd-kernel.js';
import { registerBatchNormTraining, unregisterBatchNormTraining } from './bn-train.js';

type Tf = typeof tfType;
type TensorInfo = tfType.TensorInfo;

export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

export type KernelRunner = (
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs?: Record<string, unknown>,
) => TensorInfo;

function runnerFor(tf: Tf, backend: WasmBackendLike, originals: Map<string, tfType.KernelFunc>): KernelRunner {
  return (name, inputs, attrs = {}) => {
    const fn = originals.get(name) ?? tf.getKernel(name, 'wasm')?.kernelFunc;
    if (!fn) throw new Error(`wasm backend has no kernel ${name}`);
    return fn({
      inputs: inputs as tfType.NamedTensorInfoMap,
      backend: backend as never,
      attrs: attrs as never,
    }) as TensorInfo;
  };
}

/** Slices negative amounts off, then zero-pads positive amounts, per axis. */
function padOrCrop(
  run: KernelRunner,
  backend: WasmBackendLike,
  x: TensorInfo,
  amounts: Array<[number, number]>,
): TensorInfo {
  let cur = x;
  let owned = false;
  if (amounts.some(([a, b]) => a < 0 || b < 0)) {
    const begin = amounts.map(([a]) => Math.max(0, -a));
    const size = x.shape.map((d, i) => d - Math.max(0, -amounts[i][0]) - Math.max(0, -amounts[i][1]));
    cur = run('Slice', { x: cur }, { begin, size });
    owned = true;
  }
  if (amounts.some(([a, b]) => a > 0 || b > 0)) {
    const next = run(
      'PadV2',
      { x: cur },
      { paddings: amounts.map(([a, b]) => [Math.max(0, a), Math.max(0, b)]), constantValue: 0 },
    );
    if (owned) backend.disposeData(cur.dataId);
    cur = next;
    owned = true;
  }
  if (!owned) {
    // Callers dispose what we return: hand back a new reference (Reshape only counts one up).
    cur = run('Reshape', { x: cur }, { shape: cur.shape });
  }
  return cur;
}

/** Spreads the spatial positions of an NHWC tensor `s` apart (zeros between), length (n-1)*s+1. */
function dilateSpatial(run: KernelRunner, backend: WasmBackendLike, x: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return run('Reshape', { x }, { shape: x.shape });
  const [n, h, w, c] = x.shape;
  const r = run('Reshape', { x }, { shape: [n, h, 1, w, 1, c] });
  const p = run(
    'PadV2',
    { x: r },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  backend.disposeData(r.dataId);
  const r2 = run('Reshape', { x: p }, { shape: [n, h * sh, w * sw, c] });
  backend.disposeData(p.dataId);
  const out = run('Slice', { x: r2 }, { begin: [0, 0, 0, 0], size: [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c] });
  backend.disposeData(r2.dataId);
  return out;
}

/**
 * Calls fn for every window of a 2x2, stride-2, unpadded pooling of an NHWC tensor: i00 = offset of the window's
 * top-left value (channel 0), o = offset of its output (channel 0), row = W * C.
 */
function forEach2x2Window(
  N: number,
  H: number,
  W: number,
  C: number,
  OH: number,
  OW: number,
  fn: (i00: number, o: number, row: number) => void,
): void {
  const row = W * C;
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < OH; p++) {
      for (let q = 0; q < OW; q++) fn(n * H * row + 2 * p * row + 2 * q * C, ((n * OH + p) * OW + q) * C, row);
    }
  }
}

export interface FastKernelOptions {
  /** Replace MaxPoolGrad too (default true): the wasm one is slow and drops the gradient of all-equal windows. */
  maxPoolGrad?: boolean;
  /** Convolutions and per-channel BatchNorm loops through the native addon when it is built (default true). */
  nativeConv?: boolean;
}

let installedFor: object | undefined;
let installedList: string[] = [];

/**
 * Registers the fast gradient kernels on the wasm backend. Call after `tf.setBackend('wasm')` resolved.
 * Idempotent per backend instance.
 */
export function registerFastWasmKernels(tf: Tf, options: FastKernelOptions = {}): string[] {
  const backend = tf.findBackend('wasm') as unknown as WasmBackendLike | null;
  if (!backend) throw new Error('registerFastWasmKernels: the wasm backend is not initialised');
  if (installedFor === backend) return [...installedList];
  const originals = new Map<string, tfType.KernelFunc>();
  const wanted = [
    'BatchMatMul',
    'Transpose',
    'Conv2D',
    'Reverse',
    'PadV2',
    'Slice',
    'Reshape',
    'Identity',
    'MaxPool',
    'Relu',
  ];
  for (const name of wanted) {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`wasm backend has no kernel ${name}`);
    originals.set(name, k.kernelFunc);
  }
  const run = runnerFor(tf, backend, originals);
  const free = (...infos: TensorInfo[]) => {
    for (const i of infos) backend.disposeData(i.dataId);
  };

  const conv2DBackpropFilter: tfType.KernelFunc = ({ inputs, attrs }) => {
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    const a = attrs as unknown as Record<string, unknown>;
    const filterShape = a.filterShape as number[];
    const info = convInfoOf(tf, x.shape, filterShape, a);
    const [fh, fw] = filterShape;
    const s = [info.strideHeight, info.strideWidth];
    const oh = info.outHeight;
    const ow = info.outWidth;
    // dW[i,j,ci,co] = sum_{n,p,q} xpad[n, p*s+i, q*s+j, ci] dy[n,p,q,co]: a 'valid' conv of xpad (ci as batch,
    // n as channels) with dy (n as in-channels) dilated by the stride as filter.
    const needH = (oh - 1) * s[0] + fh;
    const needW = (ow - 1) * s[1] + fw;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const xp = padOrCrop(run, backend, x, [
      [0, 0],
      [top, needH - x.shape[1] - top],
      [left, needW - x.shape[2] - left],
      [0, 0],
    ]);
    const xt = run('Transpose', { x: xp }, { perm: [3, 1, 2, 0] });
    const dyt = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    free(xp);
    const g = run(
      'Conv2D',
      { x: xt, filter: dyt },
      { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: s, dimRoundingMode: undefined },
    );
    free(xt, dyt);
    const out = run('Transpose', { x: g }, { perm: [1, 2, 0, 3] });
    free(g);
    return out;
  };

  const conv2DBackpropInput: tfType.KernelFunc = ({ inputs, attrs }) => {
    const dy = inputs.dy as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    const a = attrs as unknown as Record<string, unknown>;
    const inputShape = a.inputShape as number[];
    const info = convInfoOf(tf, inputShape, filter.shape, a);
    const [fh, fw] = filter.shape;
    // dx = 'valid' conv of the stride-dilated, (f-1-pad)-padded dy with the kernel flipped spatially and its
    // in/out channels swapped.
    const dyd = dilateSpatial(run, backend, dy, info.strideHeight, info.strideWidth);
    const [, H, W] = inputShape;
    const top = fh - 1 - info.padInfo.top;
    const left = fw - 1 - info.padInfo.left;
    const dyp = padOrCrop(run, backend, dyd, [
      [0, 0],
      [top, H + fh - 1 - dyd.shape[1] - top],
      [left, W + fw - 1 - dyd.shape[2] - left],
      [0, 0],
    ]);
    free(dyd);
    const fr = run('Reverse', { x: filter }, { dims: [0, 1] });
    const ft = run('Transpose', { x: fr }, { perm: [0, 1, 3, 2] });
    free(fr);
    const out = run(
      'Conv2D',
      { x: dyp, filter: ft },
      { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined },
    );
    free(dyp, ft);
    return out;
  };

  const batchMatMul: tfType.KernelFunc = ({ inputs, attrs }) => {
    let a = inputs.a as TensorInfo;
    let b = inputs.b as TensorInfo;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const owned: TensorInfo[] = [];
    const swapLast = (t: TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      const out = run('Transpose', { x: t }, { perm });
      owned.push(out);
      return out;
    };
    if (transposeA) a = swapLast(a);
    if (transposeB) b = swapLast(b);
    const out = run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    free(...owned);
    return out;
  };

  // wasm's AvgPoolGrad is a generic loop ~17x slower than the forward pass; the unpadded 2x2/2 pooling of the
  // plain networks spreads dy/4 over each window. Other poolings keep the original kernel.
  const origAvgPoolGrad = tf.getKernel('AvgPoolGrad', 'wasm')?.kernelFunc;
  const avgPoolGrad: tfType.KernelFunc = (args) => {
    const dy = args.inputs.dy as TensorInfo;
    const x = args.inputs.input as TensorInfo;
    const a = args.attrs as unknown as Record<string, unknown>;
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      a.filterSize as [number, number],
      a.strides as [number, number],
      1,
      a.pad as 'same' | 'valid',
    );
    const simple2x2 =
      info.filterHeight === 2 &&
      info.filterWidth === 2 &&
      info.strideHeight === 2 &&
      info.strideWidth === 2 &&
      info.padInfo.top === 0 &&
      info.padInfo.left === 0 &&
      info.padInfo.bottom === 0 &&
      info.padInfo.right === 0;
    if (!simple2x2 || dy.dtype !== 'float32') {
      if (!origAvgPoolGrad) throw new Error('wasm backend has no kernel AvgPoolGrad');
      return origAvgPoolGrad(args);
    }
    const out = backend.makeOutput(x.shape, 'float32');
    const dx = backend.typedArrayFromHeap(out);
    const dyv = backend.typedArrayFromHeap(dy);
    dx.fill(0);
    const [N, H, W, C] = x.shape;
    const { outHeight: OH, outWidth: OW } = info;
    forEach2x2Window(N, H, W, C, OH, OW, (i00, o, row) => {
      for (let c = 0; c < C; c++) {
        const g = dyv[o + c] * 0.25;
        dx[i00 + c] = g;
        dx[i00 + C + c] = g;
        dx[i00 + row + c] = g;
        dx[i00 + row + C + c] = g;
      }
    });
    return out;
  };

  const maxPoolGrad: tfType.KernelFunc = ({ inputs, attrs }) => {
    const dy = inputs.dy as TensorInfo;
    const x = inputs.input as TensorInfo;
    const a = attrs as unknown as Record<string, unknown>;
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      a.filterSize as [number, number],
      a.strides as [number, number],
      1,
      a.pad as 'same' | 'valid',
      a.dimRoundingMode as 'floor' | undefined,
    );
    const out = backend.makeOutput(x.shape, 'float32');
    // Views after makeOutput: allocating may grow (and detach) the wasm heap.
    const dx = backend.typedArrayFromHeap(out);
    const xv = backend.typedArrayFromHeap(x);
    const dyv = backend.typedArrayFromHeap(dy);
    const [N, H, W, C] = x.shape;
    const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const pt = info.padInfo.top;
    const pl = info.padInfo.left;
    if (elementwise?.maxPoolGrad && x.dtype === 'float32' && dy.dtype === 'float32') {
      elementwise.maxPoolGrad(xv, dyv, dx, new Float32Array([N, H, W, C, OH, OW, sh, sw, kh, kw, pt, pl]));
      return out;
    }
    dx.fill(0);
    // Same rule as the cpu backend: the first strictly greater value in row-major window order wins.
    if (kh === 2 && kw === 2 && sh === 2 && sw === 2 && pt === 0 && pl === 0 && OH * 2 <= H && OW * 2 <= W) {
      // The common 2x2/2 pooling without padding: four reads per output, no window bookkeeping.
      forEach2x2Window(N, H, W, C, OH, OW, (i00, o, row) => {
        for (let c = 0; c < C; c++) {
          const a = i00 + c;
          let pos = -1;
          let best = Number.NEGATIVE_INFINITY;
          if (xv[a] > best) {
            best = xv[a];
            pos = a;
          }
          if (xv[a + C] > best) {
            best = xv[a + C];
            pos = a + C;
          }
          if (xv[a + row] > best) {
            best = xv[a + row];
            pos = a + row;
          }
          if (xv[a + row + C] > best) pos = a + row + C;
          if (pos >= 0) dx[pos] += dyv[o + c];
        }
      });
      return out;
    }
    for (let n = 0; n < N; n++) {
      const xb = n * H * W * C;
      for (let p = 0; p < OH; p++) {
        const r0 = p * sh - pt;
        const rs = Math.max(0, r0);
        const re = Math.min(H, r0 + kh);
        for (let q = 0; q < OW; q++) {
          const c0 = q * sw - pl;
          const cs = Math.max(0, c0);
          const ce = Math.min(W, c0 + kw);
          const dyBase = ((n * OH + p) * OW + q) * C;
          for (let c = 0; c < C; c++) {
            let best = Number.NEGATIVE_INFINITY;
            let pos = -1;
            for (let r = rs; r < re; r++) {
              let idx = xb + (r * W + cs) * C + c;
              for (let cc = cs; cc < ce; cc++, idx += C) {
                const v = xv[idx];
                if (v > best) {
                  best = v;
                  pos = idx;
                }
              }
            }
            if (pos >= 0) dx[pos] += dyv[dyBase + c];
          }
        }
      }
    }
    return out;
  };

  // The addon's per-channel loops (native/elementwise.cc) and max-pool gradient (native/pool.cc), ~10x the
  // JavaScript loops here on heap views; these stay for builds without the addon, SEMEMBED_NATIVE_CONV=0, and
  // SEMEMBED_NATIVE_CONV_ONLY=1 (the benchmark's baseline from before issue 19: native convolutions only,
  // JavaScript loops, composed BatchMatMul; maxPoolGrad above reads `elementwise` when it runs).
  const addon = options.nativeConv === false ? undefined : loadNativeConv().native;
  const convOnly = process.env.SEMEMBED_NATIVE_CONV_ONLY === '1';
  const elementwise = convOnly ? undefined : addon;

  const ew = elementwiseKernels(tf, backend, elementwise, originals.get('Identity')!, run);

  const overrides = addon
    ? nativeKernels(tf, backend, convOnly ? { conv: addon.conv, setThreads: addon.setThreads } : addon, {
        Conv2D: originals.get('Conv2D')!,
        Conv2DBackpropFilter: conv2DBackpropFilter,
        Conv2DBackpropInput: conv2DBackpropInput,
        BatchMatMul: batchMatMul,
        MaxPool: originals.get('MaxPool')!,
        Relu: originals.get('Relu')!,
      })
    : undefined;

  const mine: Record<string, tfType.KernelFunc> = {
    ...ew,
    Conv2DBackpropFilter: conv2DBackpropFilter,
    Conv2DBackpropInput: conv2DBackpropInput,
    BatchMatMul: batchMatMul,
    ...overrides,
  };
  if (options.maxPoolGrad !== false) mine.MaxPoolGrad = maxPoolGrad;
  if (origAvgPoolGrad !== undefined) mine.AvgPoolGrad = avgPoolGrad;
  for (const [kernelName, kernelFunc] of Object.entries(mine)) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  registerBatchNormGradient(tf);
  // SEMEMBED_FUSED_BN=0 keeps tfjs's moments + batchNorm composition (for measuring the difference).
  const bnTrain =
    elementwise !== undefined &&
    process.env.SEMEMBED_FUSED_BN !== '0' &&
    registerBatchNormTraining(tf, backend, elementwise);
  if (!bnTrain) unregisterBatchNormTraining(tf);
  const reluGrad = elementwise !== undefined && registerReluGradient(tf, backend, elementwise);
  if (!reluGrad) unregisterReluGradient(tf);
  const sgd = elementwise !== undefined && registerSgdKernel(tf, backend, elementwise);
  if (!sgd) unregisterSgdKernel(tf);
  installedFor = backend;
  installedList = [
    ...Object.keys(mine),
    'FusedBatchNorm/Sum/Mean gradients',
    ...(bnTrain ? ['BatchNormTraining'] : []),
    ...(reluGrad ? ['Relu gradient'] : []),
    ...(sgd ? ['SGD step'] : []),
  ];
  return [...installedList];
}

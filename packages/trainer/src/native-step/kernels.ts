/**
 * The native kernels a native training step calls: the addon's (native/conv.cc, batchnorm.cc, pool.cc,
 * elementwise.cc, matmul.cc via native-conv.ts) and the step's own (native/step-kernels.cc, semembed_step.node,
 * built beside it). Undefined members mean the step cannot run natively (plan.ts says why).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { loadNativeConv, nativeConvPath, type NativeConv } from '../native-conv.js';

type F32 = Float32Array;

export interface StepAddon {
  /** y = act(y + bias) in place over rows of bias.length values; act 0 linear, 1 relu. */
  stepBiasAct(y: F32, bias: F32, act: 0 | 1): void;
  stepRelu(x: F32, y: F32): void;
  /** dy *= step(y) in place (y = relu(z)). */
  stepReluGrad(dy: F32, y: F32): void;
  /** Pooling forward, op 0 max, 1 average; dims n h w c oh ow sh sw kh kw pt pl (as maxPoolGrad's). */
  stepPool(op: 0 | 1, x: F32, y: F32, dims: F32): void;
  stepAvgPoolGrad(dy: F32, dx: F32, dims: F32): void;
  /** Global average pooling of n images; and its gradient. */
  stepGap(x: F32, y: F32, n: number): void;
  stepGapGrad(dy: F32, dx: F32, n: number): void;
  /** g += 2 * l2 * w; returns sum(w^2) accumulated in double. */
  stepL2(w: F32, g: F32, l2: number): number;
}

export type StepKernels = StepAddon &
  Pick<NativeConv, 'conv'> &
  Required<Pick<NativeConv, 'matmul' | 'maxPoolGrad' | 'reduceRows' | 'bnForward' | 'bnBackward'>>;

let cached: { kernels?: StepKernels; why: string } | undefined;

/** Loads both addons once per thread; `why` names what is missing when they cannot run a step. */
export function loadStepKernels(): { kernels?: StepKernels; why: string } {
  if (cached) return cached;
  const conv = loadNativeConv();
  const file = path.join(path.dirname(nativeConvPath()), 'semembed_step.node');
  if (!conv.native) cached = { why: `the native kernels are not loaded (${conv.why})` };
  else if (!fs.existsSync(file)) cached = { why: `${file} is missing (run bash scripts/build-native-conv.sh)` };
  else {
    try {
      const step = createRequire(import.meta.url)(file) as StepAddon;
      const n = conv.native;
      const missing = (['matmul', 'maxPoolGrad', 'reduceRows', 'bnForward', 'bnBackward'] as const).filter(
        (k) => !n[k],
      );
      if (missing.length) cached = { why: `the native addon lacks ${missing.join(', ')} (rebuild it)` };
      else {
        const kernels = { ...step } as StepKernels;
        for (const k of ['conv', 'matmul', 'maxPoolGrad', 'reduceRows', 'bnForward', 'bnBackward'] as const) {
          (kernels as unknown as Record<string, unknown>)[k] = (n[k] as (...a: unknown[]) => void).bind(n);
        }
        cached = { kernels, why: 'native' };
      }
    } catch (err) {
      cached = { why: `${file} failed to load: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return cached;
}

/**
 * A native training step for sequential conv nets (issue 19): the same loss, gradients, outputs and BatchNorm
 * moving statistics as fit.ts's shareGradients on the TF.js tape, computed by native kernels on preallocated
 * buffers (~30 calls a step instead of ~300 tfjs kernels and their tape). Models with anything unsupported, other
 * backends than wasm / cpu, a missing addon or SEMEMBED_NATIVE_STEP=0 keep the TF.js path; NODE_DEBUG=semembed
 * prints which path a model takes and why, once.
 */
import { debuglog } from 'node:util';
import type * as tfType from '@tensorflow/tfjs';
import type { LossName, LossSetup } from '../losses.js';
import { loadStepKernels } from './kernels.js';
import { planStep, type StepPlan } from './plan.js';
import { NativeStep, type StepOutput } from './runner.js';

export { stepProfile } from './runner.js';
export type { StepPlan } from './plan.js';

type Tf = typeof tfType;
const debug = debuglog('semembed');

export interface NativeStepOptions {
  loss: LossName;
  /** The tf module whose backend runs the step (wasm or cpu). */
  tf: Tf;
}

/** Inputs of a share of a step, as fit.ts's shareGradients takes them. */
export interface ShareInputs extends LossSetup {
  model: tfType.LayersModel;
}

/** The plan of a native step for `model`, or why the TF.js path is used. */
export function nativeStepPlan(model: tfType.LayersModel, options: NativeStepOptions): StepPlan | string {
  if (process.env.SEMEMBED_NATIVE_STEP === '0') return 'SEMEMBED_NATIVE_STEP=0';
  const backend = options.tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return `backend ${backend} (only wasm and cpu)`;
  const kernels = loadStepKernels();
  if (!kernels.kernels) return kernels.why;
  return planStep(options.tf, model, options.loss);
}

const steps = new WeakMap<tfType.LayersModel, Map<string, NativeStep | string>>();

/** The model's native step for this loss and backend (cached), or why there is none (said once, NODE_DEBUG). */
export function nativeStepFor(tf: Tf, model: tfType.LayersModel, loss: LossName): NativeStep | string {
  const key = `${loss} ${tf.getBackend()} ${process.env.SEMEMBED_NATIVE_STEP ?? ''}`;
  let byKey = steps.get(model);
  if (!byKey) steps.set(model, (byKey = new Map()));
  let s = byKey.get(key);
  if (s === undefined) {
    const plan = nativeStepPlan(model, { tf, loss });
    s = typeof plan === 'string' ? plan : new NativeStep(tf, plan, loadStepKernels().kernels!);
    byKey.set(key, s);
    debug(
      typeof s === 'string'
        ? `model ${model.name}: TF.js training step (${s})`
        : `model ${model.name}: native training step (${s.plan.ops.length} ops)`,
    );
  }
  return s;
}

/** shareGradients (fit.ts) through the native step, or why there is none for this model and these variables. */
function nativeShareOrWhy(
  tf: Tf,
  o: ShareInputs,
  vars: tfType.Variable[],
  x: Float32Array,
  labels: Int32Array,
  n: number,
): StepOutput | string {
  const step = nativeStepFor(tf, o.model, o.loss);
  if (typeof step === 'string') return step;
  if (!step.covers(vars)) return 'some trained variables are not weights of the native step';
  return step.run(vars, x, labels, n, o);
}

/** shareGradients (fit.ts) through the native step; throws when the model has none (see nativeStepPlan). */
export function nativeShareGradients(...args: Parameters<typeof nativeShareOrWhy>): StepOutput {
  const r = nativeShareOrWhy(...args);
  if (typeof r === 'string') throw new Error(`no native training step: ${r}`);
  return r;
}

/** The native step's result when the model has one and it covers `vars`, else undefined (use the TF.js path). */
export function tryNativeShareGradients(...args: Parameters<typeof nativeShareOrWhy>): StepOutput | undefined {
  const r = nativeShareOrWhy(...args);
  return typeof r === 'string' ? undefined : r;
}

/** The shapes a native step is made of: ops (one per layer), their weights, and what they run against. */
import type * as tfType from '@tensorflow/tfjs';
import type { StepKernels } from './kernels.js';

type F32 = Float32Array;

/** A weight of a layer: its variable, and the L2 factor of its regulariser (0 for none). */
export interface StepWeight {
  variable: tfType.Variable;
  size: number;
  l2: number;
}

/** What an op reads and writes during one step of n rows (buffers live as long as the plan and batch size). */
export interface RunContext {
  n: number;
  k: StepKernels;
  value(tensor: number): F32;
  /** The complete gradient of a tensor (its consumers' backward passes have run). */
  grad(tensor: number): F32;
  /** Where to write the gradient of an op's input (undefined: nothing needs it); call gradDone after writing. */
  gradOut(tensor: number): F32 | undefined;
  gradDone(tensor: number): void;
  weight(w: StepWeight): F32;
  weightGrad(w: StepWeight): F32;
  /** A buffer of the op's own, kept per batch size (contents persist from forward to backward). */
  scratch(key: string, size: number): F32;
}

/** A moving statistic's new value, written back into the model's variable after the step. */
export interface StateUpdate {
  variable: tfType.Variable;
  values: F32;
}

export interface StepOp {
  /** Layer name and class, for the profile and debug lines. */
  label: string;
  input: number;
  output: number;
  weights: StepWeight[];
  forward(ctx: RunContext): void;
  backward(ctx: RunContext): void;
  /** BatchNormalization's moving statistics after this step. */
  updates?(ctx: RunContext): StateUpdate[];
}

/** What a layer handler knows when it plans its op: shapes are per row (no batch axis). */
export interface LayerInfo {
  layer: tfType.layers.Layer;
  config: Record<string, unknown>;
  inShape: number[];
  outShape: number[];
  input: number;
  output: number;
  tf: typeof tfType;
}

/** An op, or (string) why the layer cannot run natively. 'alias' makes the output the input's buffer (Flatten). */
export type LayerHandler = (info: LayerInfo) => LayerOp | 'alias' | string;

/** What a handler returns: the op without its input and output, which the plan sets from LayerInfo's. */
export type LayerOp = Omit<StepOp, 'input' | 'output'>;

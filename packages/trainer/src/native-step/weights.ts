/** Layer weights and regularisers as the native step's ops see them. */
import type * as tfType from '@tensorflow/tfjs';
import type { StepOp, StepWeight } from './types.js';

/** The variable of `layer`'s weight named `suffix` (kernel, bias, gamma, moving_mean...). */
export function layerVariable(layer: tfType.layers.Layer, suffix: string): tfType.Variable | undefined {
  const w = layer.weights.find((v) => v.originalName.split('/').pop() === suffix);
  return w ? (w.read() as tfType.Variable) : undefined;
}

/** L2 factor of a serialised regulariser (tfjs's L1L2 / L2 config), 0 for none; a string when it has an L1 part. */
export function l2Factor(reg: unknown): number | string {
  if (reg === null || reg === undefined) return 0;
  const r = reg as { className?: string; config?: { l1?: number; l2?: number } };
  if (!['L1L2', 'L2', 'l1_l2', 'l2'].includes(r.className ?? '')) return `regulariser ${String(r.className)}`;
  if ((r.config?.l1 ?? 0) !== 0) return 'an L1 regulariser';
  return r.config?.l2 ?? (r.className === 'L2' || r.className === 'l2' ? 0.01 : 0);
}

/** A StepWeight for `suffix`, or why not (missing, unsupported regulariser). */
export function stepWeight(layer: tfType.layers.Layer, suffix: string, regularizer?: unknown): StepWeight | string {
  const variable = layerVariable(layer, suffix);
  if (!variable) return `no ${suffix} weight`;
  const l2 = l2Factor(regularizer);
  if (typeof l2 === 'string') return `${suffix}: ${l2}`;
  return { variable, size: variable.size, l2 };
}

/** Why a layer's config has something the native op does not do (regularisers it does not apply), else undefined. */
export function unsupportedRegularizers(config: Record<string, unknown>, keys: string[]): string | undefined {
  const bad = keys.filter((k) => config[k] !== null && config[k] !== undefined);
  return bad.length ? `${bad.join(', ')} set` : undefined;
}

export function weightOf(ops: StepOp[], variable: tfType.Variable): StepWeight | undefined {
  for (const op of ops) for (const w of op.weights) if (w.variable === variable) return w;
  return undefined;
}

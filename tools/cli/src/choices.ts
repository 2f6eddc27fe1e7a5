// Choices and defaults of flags whose owners are heavy to import (the trainer loads TensorFlow.js, the converter
// h5wasm): the builders must not load them just to print --help or reject a typo. Each list is checked against
// its owner's type both ways at compile time (All<...>), and test/choices.test.ts compares the values at run time.
import type { EmbeddingMethod } from '@semembed/hierarchy';
import type { LossName, LrScheduleName } from '@semembed/trainer';

/** true only when the list names every member of the union (the `satisfies` below checks the other direction). */
type All<Union, List extends readonly unknown[]> = [Exclude<Union, List[number]>] extends [never] ? true : false;
const all = <T extends true>(t: T) => t;

export const EMBEDDING_METHODS = [
  'unitsphere',
  'approx_sim',
  'mds',
  'spheres',
] as const satisfies readonly EmbeddingMethod[];
all<All<EmbeddingMethod, typeof EMBEDDING_METHODS>>(true);

export const LOSSES = ['inv_corr', 'mse', 'unnorm_corr', 'softmax_corr'] as const satisfies readonly LossName[];
all<All<LossName, typeof LOSSES>>(true);

export const LR_SCHEDULES = ['SGD', 'SGDR', 'CLR', 'ResNet-Schedule'] as const satisfies readonly LrScheduleName[];
all<All<LrScheduleName, typeof LR_SCHEDULES>>(true);

/**
 * The trainer's backends. Not type-checked: backends come and go with optional installs; the handler checks the
 * choice against the trainer's own BACKEND_NAMES once it is loaded, and the test compares the lists.
 */
export const BACKEND_NAMES = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;

/** The converter's default opset; the type is its literal, so a change there fails to compile here. */
export const DEFAULT_OPSET: (typeof import('@semembed/converter'))['DEFAULT_OPSET'] = 17;

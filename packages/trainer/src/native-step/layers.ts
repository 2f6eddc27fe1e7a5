/** Layer class name -> its native step op (forward + backward). A new layer: one file and one line here. */
import { activation } from './activation.js';
import { batchNormalization } from './batchnorm.js';
import { conv2d } from './conv2d.js';
import { dense } from './dense.js';
import { flatten } from './flatten.js';
import { l2Normalize } from './l2norm.js';
import { averagePooling2d, globalAveragePooling2d, maxPooling2d } from './pool.js';
import type { LayerHandler } from './types.js';

export const LAYER_HANDLERS: Readonly<Record<string, LayerHandler>> = {
  Conv2D: conv2d,
  BatchNormalization: batchNormalization,
  MaxPooling2D: maxPooling2d,
  AveragePooling2D: averagePooling2d,
  GlobalAveragePooling2D: globalAveragePooling2d,
  Flatten: flatten,
  Dense: dense,
  Activation: activation,
  Lambda: l2Normalize,
  L2Normalize: l2Normalize,
};

/** Flatten (channels last): NHWC rows are already flat, so its output is its input's buffer. */
import type { LayerHandler } from './types.js';

export const flatten: LayerHandler = ({ config }) =>
  config.dataFormat === undefined || config.dataFormat === 'channelsLast'
    ? 'alias'
    : `data format ${String(config.dataFormat)}`;

// @semembed/model: the browser-safe model contract (no node: imports). See README.md.
export { SidecarError, TensorError } from './errors.js';
export {
  SIDECAR_FORMAT,
  SIDECAR_VERSION,
  sidecarSchema,
  type Sidecar,
  type ImageSidecar,
  type SidecarInput,
  type SidecarOutput,
  type SidecarClass,
  type Preprocessing,
  type Layout,
  type OutputKind,
  type ColorSpace,
} from './sidecar-schema.js';
export {
  validateSidecar,
  validateImageSidecar,
  validateWrittenSidecar,
  parseSidecarJson,
  inputSize,
} from './sidecar.js';
export { migrateSidecar } from './migrate.js';
export {
  OutputHead,
  type OutputTensor,
  type ClassScore,
  type ImageResult,
  type GalleryMatch,
  type RuntimeTensor,
  type SessionNames,
} from './head.js';
export { normalizePixels } from './pixels.js';
export { topK, softmaxInPlace, l2normalize, l2normalizeRows, L2_EPS } from './vector.js';
export { toHalf, fromHalf, halfToFloat32, float32ToHalf } from './float16.js';
export {
  DATASET_STATS,
  datasetPreprocessing,
  knownDatasets,
  type ChannelStats,
  type StatsName,
} from './dataset-stats.js';

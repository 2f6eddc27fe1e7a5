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
export { validateSidecar, validateImageSidecar, parseSidecarJson, inputSize } from './sidecar.js';
export { migrateSidecar } from './migrate.js';

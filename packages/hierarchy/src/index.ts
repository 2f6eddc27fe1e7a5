export { HierarchyError } from './errors.js';
export { type ClassId, type IdOptions, parseId } from './ids.js';
export { Hierarchy, type ParseOptions, type SimilarityKind, parseHierarchy, readHierarchy } from './hierarchy.js';
export { readClassList, readClassNames } from './classes.js';
export {
  type EmbeddingMethod,
  EMBEDDING_METHODS,
  type EmbeddingResult,
  type Deviation,
  type ComputeOptions,
  type ClassEmbeddingComputation,
  NORM_EPS,
  computeClassEmbedding,
  unitsphereEmbedding,
  approxSimEmbedding,
  mdsEmbedding,
  spheresEmbedding,
  embeddingDeviation,
  normalizeRows,
} from './methods.js';
export {
  type ClassEmbedding,
  classEmbeddingOf,
  EMBEDDING_FORMAT,
  readClassEmbedding,
  writeClassEmbedding,
  isPicklePath,
} from './files.js';
export { choleskyInPlace, symmetricEigen, topEigen } from './linalg.js';
export { pyFloat } from './format.js';

export { ArchitectureError } from './errors.js';
export {
  KerasGraph,
  kerasLayerOrder,
  toKerasJson,
  toSnakeCase,
  type KerasLayerConfig,
  type KerasModelConfig,
  type InboundRef,
  type Shape,
  type SymTensor,
} from './keras.js';
export {
  buildArchitecture,
  listArchitectures,
  LOSSES,
  type ArchitectureInfo,
  type BuildOptions,
  type EmbeddingLoss,
} from './architectures.js';
export {
  KNOWN_LAMBDAS,
  loadWeightsByKerasName,
  modelFromKerasConfig,
  registerCustomLayers,
  weightsFromKerasNames,
  type FromConfigOptions,
  type KerasLayerWeights,
  type KnownLambda,
  type LoadByNameResult,
  type AnyKerasModelConfig,
  type TF,
  type WeightArray,
} from './tfjs.js';

export { onnx, DataType, AttributeType, type Int64 } from './types.js';
export { OnnxError } from './errors.js';
export { readModel, writeModel, writeModelChunks } from './proto.js';
export {
  tensorData,
  makeTensor,
  emptyTensor,
  elementSize,
  elementCount,
  dataTypeName,
  type TensorArray,
  type TensorValues,
} from './tensor.js';
export {
  makeAttribute,
  getAttribute,
  intAttribute,
  intsAttribute,
  floatAttribute,
  stringAttribute,
  makeNode,
  makeValueInfo,
  valueInfoType,
  makeGraph,
  makeModel,
  defaultOpset,
  type AttributeValue,
  type AttributeResult,
  type NodeOptions,
  type Dim,
  type GraphParts,
  type ModelParts,
} from './build.js';
export { irVersionForOpset } from './versions.js';
export { getMetadata, setMetadata } from './metadata.js';
export { topologicalNodes } from './graph.js';
export { addOutputs } from './outputs.js';
export { inferShapes, type InputShapes } from './shapes.js';
export { modelCost, type ModelCost, type NodeCost } from './cost.js';
export { supportedOps, type ValueType } from './ops/index.js';

export { TrainerError } from './errors.js';
export {
  selectBackend,
  describeBackend,
  wasmDir,
  BACKEND_NAMES,
  type BackendName,
  type BackendChoice,
  type BackendOptions,
  type Tf,
} from './backend.js';
export { initWebgpu } from './webgpu.js';
export { registerFastWasmKernels, type FastKernelOptions } from './wasm-kernels.js';
export {
  LOSSES,
  embeddingLoss,
  categoricalCrossentropy,
  embeddingCorrect,
  classCorrect,
  balancedAccuracy,
  nearestClass,
  type LossName,
} from './losses.js';
export {
  LR_SCHEDULES,
  makeSchedule,
  sgdrLr,
  clrLr,
  resnetScheduleLr,
  parseSgdSchedule,
  decayFor,
  decayedLr,
  type LrSchedule,
  type LrScheduleName,
  type ScheduleOptions,
} from './schedules.js';
export {
  fit,
  evaluate,
  KerasSGD,
  type DataSplit,
  type FitOptions,
  type EvalResult,
  type EpochLog,
  type ProgressEvent,
} from './fit.js';
export { addHeads, l2NormalizeLayerClass, type HeadOptions } from './model.js';
export { writeKerasH5, readKerasH5, type H5Layer, type H5Weight, type KerasH5Content } from './h5.js';
export { splitFromDataset } from './data.js';
export { train, featureLabelsPath, type TrainOptions, type TrainResult } from './train.js';
export { modelWeights } from './snapshot.js';
export { GradientWorkers, batchParts, resolveWorkers, type HelperSetup } from './parallel.js';
export { loadNativeConv, nativeConvPath, type NativeConv } from './native-conv.js';
export {
  nativeStepPlan,
  nativeShareGradients,
  stepProfile as nativeStepProfile,
  type StepPlan,
} from './native-step/index.js';

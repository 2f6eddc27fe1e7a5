export { QuantizeError } from './errors.js';
export {
  calibrate,
  entropyThreshold,
  CALIBRATION_METHODS,
  type CalibrationMethod,
  type CalibrationBatch,
  type CalibrateOptions,
  type Range,
} from './calibrate.js';
export {
  quantizeStatic,
  MIN_INT8_DEPTH,
  DEFAULT_TARGET,
  type StaticOptions,
  type QuantizeReport,
} from './static-int8.js';
export { foldAffine, MAX_SPREAD } from './fold-affine.js';
export { excludedNodes, checkNodesToExclude } from './exclude.js';
export { quantizeDynamic, type DynamicOptions } from './dynamic-int8.js';
export { convertFp16, FP16_BLOCK, type Fp16Options } from './fp16.js';
export { activationParams, quantizeWeights, quantizeBias, roundEven, REDUCED_WEIGHT_MAX } from './qparams.js';
export {
  quantizeModel,
  quantizeFile,
  sidecarOf,
  QUANTIZE_MODES,
  PRECISION,
  type QuantizeMode,
  type QuantizeOptions,
  type QuantizeResult,
} from './quantize.js';
export {
  evaluateCandidates,
  chooseCandidate,
  formatCandidates,
  type Candidate,
  type CandidateResult,
  type LabelledSlice,
  type SelectOptions,
} from './select.js';
export { imagesCalibration, datasetSamples, type DatasetSamples } from './calibration-data.js';

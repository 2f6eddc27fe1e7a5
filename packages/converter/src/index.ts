export { ConverterError } from './errors.js';
export { writeFileAtomic } from '@semembed/formats';
export { readKerasH5, type KerasH5, type KerasWeight } from './h5.js';
export { readKerasArchive, readKerasModelFile } from './keras-archive.js';
export { parseModelConfig, type KModel, type KLayer, type TensorRef } from './keras.js';
export {
  convertKeras,
  sidecarPathFor,
  CONVERTER_VERSION,
  DEFAULT_OPSET,
  MIN_OPSET,
  MAX_OPSET,
  type ConvertOptions,
  type ConvertResult,
  type Sidecar,
  type SidecarClass,
  type Preprocessing,
  type OutputKind,
} from './convert.js';
export { datasetPreprocessing, knownDatasets } from './datasets.js';
export { checkLambdaKind, LAMBDA_KINDS_HELP } from './lambda/index.js';
export {
  verifyConversion,
  formatVerifyTable,
  type VerifyOptions,
  type VerifyReport,
  type LayerDiff,
} from './verify.js';
export { writeModelPair, removeStaleTemporaries, sha256Hex } from './pair.js';
export { readCatalog, findCatalogModel, defaultCatalogPath, type Catalog, type CatalogModel } from './catalog.js';
export { downloadFile, defaultCacheDir, sha256File, type DownloadOptions } from './download.js';
export { importModel, type ImportOptions, type ImportResult } from './import.js';

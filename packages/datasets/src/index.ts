export { DatasetError } from './errors.js';
export type { Dataset, Split, Augmentation, ChannelStats } from './types.js';
export { Rng } from './rng.js';
export {
  loadDataset,
  loadDatasetSplits,
  defaultAugmentation,
  KNOWN_STATS,
  DATASET_NAMES,
  type LoadOptions,
} from './load.js';
export {
  parseIdx,
  readMaybeGzip,
  readIdxSplit,
  FASHION_MNIST_ROOT,
  FASHION_MNIST_CLASSES,
  type IdxArray,
} from './idx.js';
export { readCifarSplit, readCifarClassNames, locateCifar, type CifarSplit, type CifarVariant } from './cifar.js';
export { listImageFolder, decodeImages, type FolderListing } from './folder.js';
export { featurewiseStats, perImageStats } from './stats.js';
export { BatchComposer, applyKerasTransform, type KerasTransform, type CropTransform } from './compose.js';
export { batches, numBatches, epochOrder, normalizedImages, type Batch, type BatchOptions } from './batches.js';
export { sidecarPreprocessing, shareDataset } from './extras.js';
export { memoryDataset } from './memory.js';

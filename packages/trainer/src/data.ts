/** Adapter from @semembed/datasets splits to the training loop's DataSplit. */
import { batches, type Dataset } from '@semembed/datasets';
import type { DataSplit } from './fit.js';

export function splitFromDataset(ds: Dataset): DataSplit {
  return {
    size: ds.labels.length,
    inputShape: ds.inputShape,
    labels: ds.labels,
    batches: (o) =>
      batches(ds, { batchSize: o.batchSize, shuffle: o.shuffle, seed: o.seed, epoch: o.epoch, augment: o.augment }),
  };
}

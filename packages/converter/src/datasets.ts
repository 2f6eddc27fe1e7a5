// The dataset mean/std table and the preprocessing it implies are @semembed/model's (one table, one key scheme,
// shared with @semembed/datasets); re-exported here for the converter's callers.
export { datasetPreprocessing, knownDatasets } from '@semembed/model';

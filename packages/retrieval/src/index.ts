export { RetrievalError } from './errors.js';
export { numpySum, numpyTrapz } from './numpy-sum.js';
export {
  HierarchicalPrecision,
  averagePrecision,
  metricNames,
  rankingDepth,
  PRECISION_KINDS,
  type PrecisionKind,
  type MetricOptions,
  type MetricResults,
} from './metrics.js';
export { RowRanker, quickselect } from './ranking.js';
export { BucketSelector } from './bucket-select.js';
export { loadNative, nativeAvailable, type NativeKernel } from './native.js';
export {
  loadFaiss,
  faissAvailable,
  METRIC_L2,
  METRIC_INNER_PRODUCT,
  type FaissIndex,
  type FaissModule,
} from './faiss.js';
export {
  Searcher,
  normalizeRows,
  toFloat32,
  type Features,
  type EngineChoice,
  type SearcherOptions,
} from './search.js';
export {
  evaluateRetrieval,
  evaluateRankings,
  type EvaluateOptions,
  type EvaluateResult,
  type Similarities,
} from './evaluate.js';
export { readFeatures, readLabels, type FeatureSet } from './io.js';
export { tableMetrics, formatTable, formatCsv, referenceKs } from './report.js';
export { precisionCurveSpec, mahpBarSpec, renderSvg, writePlot, type PlotFiles } from './plots.js';
export {
  rankClasses,
  classificationAccuracy,
  CLASSIFICATION_METRICS,
  type ClassificationResult,
} from './classification.js';
export { buildIndex, saveIndex, loadIndex, recallAtK, type IndexMeta } from './ann.js';
export { GradedRetrieval, gradedMetricNames, type GradedOptions } from './graded.js';
export {
  lcsLevels,
  mistakeMetrics,
  mistakeMetricNames,
  crmRank,
  expectedSimilarityQueries,
  type MistakeResult,
} from './mistakes.js';
export {
  seededRandom,
  quantileSorted,
  bootstrapInterval,
  bootstrapIntervals,
  pairedTest,
  pairedTests,
  pairedDifference,
  BootstrapBatch,
  perItem,
  metricIntervals,
  queueMetricIntervals,
  formatInterval,
  type BootstrapOptions,
  type Interval,
  type PairedTest,
  type PairedVectors,
  type PerItem,
  type RatioOfSums,
} from './bootstrap.js';
export { mistakeSeveritySpec, type MistakePoint } from './mistake-plot.js';
export {
  defaultGradedKs,
  defaultDistanceKs,
  probabilityMistakes,
  mistakeIntervals,
  queueMistakeIntervals,
  retrievalIntervals,
  queueRetrievalIntervals,
  lowerIsBetter,
  compareSets,
  queueComparisons,
  formatComparison,
  formatP,
  formatIntervalTable,
  markdownIntervalTable,
  type ClassifierMistakes,
  type Comparison,
  type ComparedSet,
} from './beyond.js';
export {
  beyondReport,
  beyondRetrievalMetrics,
  type BeyondInput,
  type BeyondOutput,
  type BeyondSet,
} from './beyond-report.js';

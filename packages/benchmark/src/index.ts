export { BenchmarkError, UnavailableError } from './errors.js';
export type * from './types.js';
export {
  runBenchmark,
  checkOptions,
  SCENARIOS,
  RESULT_FORMAT,
  type BenchmarkOptions,
  type BenchmarkResult,
  type Scenario,
} from './benchmark.js';
export { RUNNERS, REFERENCE_RUNNER } from './runners/registry.js';
export { OrtNodeRunner } from './runners/ort-node.js';
export { BrowserRunner } from './runners/browser.js';
export { TfjsRunner } from './runners/tfjs.js';
export { ServerRunner } from './runners/server.js';
export { OrtWebNodeRunner } from './runners/ort-web-node.js';
export { compareOutputs, predictClasses, labelledMetrics, DEFAULT_TOLERANCE, type LabelledData } from './accuracy.js';
export { loadLabelled, type LabelledOptions } from './data.js';
export { resolveModel, checkModelArg, resolveVariants, modelPrecision, type VariantSpec } from './model-source.js';
export {
  singleStream,
  offline,
  serverScenario,
  coldStart,
  QUICK_LIMITS,
  DEFAULT_LIMITS,
  type ScenarioLimits,
} from './scenarios.js';
export { percentile, median, summarize, NOISE_THRESHOLD } from './stats.js';
export { measurePeak, modelCost, type MachinePeak, type ModelCost } from './roofline.js';
export { describeEnvironment, type Environment } from './environment.js';
export { terminalTable, markdownReport, writeReport, writeJson, tableRows } from './report.js';
export { compareResults, formatComparison, readResult, type Comparison } from './compare.js';
export { RESULT_SCHEMA, validateResult } from './schema.js';
export { recommend } from './recommend.js';
export { writeReportPlots } from './plots.js';

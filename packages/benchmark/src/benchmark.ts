// The harness: resolves the model, checks every option before any work, then runs each runner through its
// scenarios (one failure is reported and the others go on), compares outputs with the reference runtime,
// and puts the achieved throughput against the machine's measured peak.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { compareOutputs, DEFAULT_TOLERANCE, labelledMetrics, type LabelledData } from './accuracy.js';
import { loadLabelled, type LabelledOptions } from './data.js';
import { describeEnvironment, type Environment } from './environment.js';
import { BenchmarkError, UnavailableError, firstLine } from './errors.js';
import { batchOf, syntheticSamples } from './inputs.js';
import { modelPrecision, resolveModel, resolveVariants, type VariantSpec } from './model-source.js';
import { createProgress, type ProgressBar } from './progress.js';
import { recommend } from './recommend.js';
import { measurePeak, modelCost, type MachinePeak, type ModelCost } from './roofline.js';
import { REFERENCE_RUNNER, RUNNERS } from './runners/registry.js';
import {
  coldStart,
  DEFAULT_LIMITS,
  offline,
  QUICK_LIMITS,
  serverScenario,
  singleStream,
  type ScenarioLimits,
} from './scenarios.js';
import { noiseWarning } from './stats.js';
import type { Batch, ModelFiles, Outputs, Runner, RunnerContext, RunnerReport } from './types.js';

export const SCENARIOS = ['single-stream', 'offline', 'server', 'cold-start'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const RESULT_FORMAT = 'semembed-benchmark/1';

export interface BenchmarkOptions {
  model: string;
  /** Runner ids (RUNNERS keys); default: all. */
  runtimes?: string[];
  scenarios?: Scenario[];
  batches?: number[];
  tolerance?: number;
  latencyBoundMs?: number;
  /** Short loops (CI, smoke runs). */
  quick?: boolean;
  limits?: Partial<ScenarioLimits>;
  /** Samples compared with the reference runtime. */
  accuracySamples?: number;
  labelled?: LabelledData;
  /** Or where to load it from (a dataset, an image folder), normalised for the model once it is resolved. */
  data?: LabelledOptions;
  /**
   * Precision variants of MODEL (e.g. `semembed quantize` outputs, sidecar beside each): each runs on the registered
   * runtimes asked for (rows `<runtime>@<name>`; TF.js, which runs the .h5, gives a row with the reason), its
   * outputs compared with the same reference outputs (ORT CPU on MODEL), labelled metrics per variant.
   */
  variants?: VariantSpec[];
  /** Extra runners (e.g. a library user's own runtime); they run after the registered ones, on MODEL only. */
  extraRunners?: Runner[];
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  /** For .h5 MODEL: converter options. */
  dataset?: string;
  architecture?: string;
  /** Skip the sgemm / bandwidth probe. */
  noPeak?: boolean;
  progress?: boolean;
  /** Lines for a non-TTY log (default: stderr when progress is off). */
  log?: (line: string) => void;
}

export interface BenchmarkResult {
  format: typeof RESULT_FORMAT;
  model: { source: string; onnx: string; h5?: string; input: number[]; layout: string; outputs: string[] };
  environment: Environment;
  settings: {
    runtimes: string[];
    scenarios: Scenario[];
    batches: number[];
    tolerance: number;
    latencyBoundMs: number;
    quick: boolean;
    limits: ScenarioLimits;
    accuracySamples: number;
    reference: string;
    labelledSource?: string;
    /** MODEL's own rows' variant name, and the variants given. */
    precision: string;
    variants: VariantSpec[];
  };
  cost: ModelCost;
  peak?: MachinePeak;
  runners: RunnerReport[];
  recommendation: string;
  warnings: string[];
}

/** Checks the options a user gives on the command line; throws one BenchmarkError naming the flag. */
export function checkOptions(o: BenchmarkOptions): void {
  for (const r of o.runtimes ?? []) {
    if (!RUNNERS[r])
      throw new BenchmarkError(`--runtimes: unknown runtime '${r}' (known: ${Object.keys(RUNNERS).join(', ')})`);
  }
  for (const s of o.scenarios ?? []) {
    if (!SCENARIOS.includes(s))
      throw new BenchmarkError(`--scenarios: unknown scenario '${s}' (known: ${SCENARIOS.join(', ')})`);
  }
  for (const b of o.batches ?? []) {
    if (!Number.isInteger(b) || b < 1 || b > 4096)
      throw new BenchmarkError(`--batch: batch sizes are integers 1..4096, got ${b}`);
  }
  if (o.tolerance !== undefined && !(o.tolerance >= 0))
    throw new BenchmarkError(`--tolerance must be >= 0, got ${o.tolerance}`);
  if (o.latencyBoundMs !== undefined && !(o.latencyBoundMs > 0))
    throw new BenchmarkError(`--latency_bound_ms must be > 0, got ${o.latencyBoundMs}`);
  if (o.accuracySamples !== undefined && !(Number.isInteger(o.accuracySamples) && o.accuracySamples >= 1)) {
    throw new BenchmarkError(`--accuracy_samples must be a positive integer, got ${o.accuracySamples}`);
  }
  resolveVariants(o.variants ?? []);
}

/** Samples a function's RSS peak while it runs (this process; Chromium's own processes are not included). */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 25);
  try {
    const value = await fn();
    return { value, peak: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `n` samples in chunks of at most `chunk`, concatenating each output. */
async function outputsFor(
  runner: Runner,
  data: Float32Array,
  n: number,
  sampleSize: number,
  chunk: number,
  key: string,
): Promise<Outputs> {
  const parts: Record<string, Float32Array[]> = {};
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    const batch: Batch = { key: `${key}-${i}`, data: data.subarray(i * sampleSize, (i + m) * sampleSize), n: m };
    const r = await runner.run(batch, { outputs: true });
    if (!r.outputs) throw new Error('the runner returned no outputs when asked for them');
    for (const [name, v] of Object.entries(r.outputs)) (parts[name] ??= []).push(v);
  }
  const out: Outputs = {};
  for (const [name, list] of Object.entries(parts)) {
    const all = new Float32Array(list.reduce((s, v) => s + v.length, 0));
    let off = 0;
    for (const v of list) {
      all.set(v, off);
      off += v.length;
    }
    out[name] = all;
  }
  return out;
}

interface Plan {
  model: ModelFiles;
  ctx: RunnerContext;
  limits: ScenarioLimits;
  scenarios: Scenario[];
  batches: number[];
  acc: { data: Float32Array; n: number };
  labelled?: LabelledData;
  pool: { data: Float32Array; n: number };
}

function stepsFor(p: Plan): number {
  const s = p.scenarios;
  return (
    2 +
    (s.includes('single-stream') ? p.limits.repeats : 0) +
    (s.includes('offline') ? p.limits.repeats * p.batches.length : 0) +
    (s.includes('server') ? p.limits.serverLevels : 0)
  );
}

/** One runner through every scenario. Never throws: the report says what failed and where. */
async function runOne(
  runner: Runner,
  p: Plan,
  bar: ProgressBar,
): Promise<{ report: RunnerReport; acc?: Outputs; lab?: Outputs }> {
  const report: RunnerReport = { id: runner.id, label: runner.label, family: runner.family, status: 'ok' };
  let stage = 'availability check';
  const one = batchOf(p.pool.data, p.pool.n, 1, p.model.sampleSize, 'b1');
  let acc: Outputs | undefined;
  let lab: Outputs | undefined;
  try {
    const avail = await runner.available(p.ctx);
    if (!avail.ok) return { report: { ...report, status: 'unavailable', reason: avail.reason } };
    const { peak } = await withPeakRss(async () => {
      stage = 'load';
      const cold = await coldStart(runner, p.ctx, one);
      report.detail = cold.detail;
      report.gpuMemoryBytes = cold.gpuMemoryBytes;
      if (p.scenarios.includes('cold-start')) report.coldStart = cold.result;
      bar.tick(`${runner.id}: accuracy`);
      stage = 'accuracy outputs';
      acc = await outputsFor(runner, p.acc.data, p.acc.n, p.model.sampleSize, 32, 'acc');
      if (p.labelled) {
        stage = 'labelled data';
        lab = await outputsFor(runner, p.labelled.data, p.labelled.n, p.model.sampleSize, 32, 'lab');
      }
      bar.tick(`${runner.id}: single-stream`);
      if (p.scenarios.includes('single-stream')) {
        stage = 'single-stream';
        report.singleStream = await singleStream(runner, one, p.limits, () => bar.tick(`${runner.id}: single-stream`));
      }
      if (p.scenarios.includes('offline')) {
        report.offline = [];
        for (const b of p.batches) {
          stage = `offline batch ${b}`;
          const batch = batchOf(p.pool.data, p.pool.n, b, p.model.sampleSize, `b${b}`);
          report.offline.push(
            await offline(runner, batch, p.limits, () => bar.tick(`${runner.id}: offline batch ${b}`)),
          );
        }
      }
      if (p.scenarios.includes('server')) {
        stage = 'server scenario';
        // Start from the sustained batch-1 rate when it was measured (a p50 on a loaded machine promises too much).
        const b1 = report.offline?.find((o) => o.batch === 1)?.throughput.median;
        const ms = b1 ? 1000 / b1 : (report.singleStream?.mean ?? report.coldStart?.firstInferenceMs ?? 10);
        report.server = await serverScenario(runner, one, ms, p.limits, () => bar.tick(`${runner.id}: server`));
      }
    });
    report.peakRssBytes = peak;
  } catch (err) {
    const unavailable = err instanceof UnavailableError;
    report.status = unavailable ? 'unavailable' : 'failed';
    report.reason = unavailable ? firstLine(err) : `${stage}: ${firstLine(err)}`;
  } finally {
    await runner.dispose().catch(() => undefined);
  }
  return { report, acc, lab };
}

function noise(r: RunnerReport): string[] {
  const w: string[] = [];
  if (r.singleStream) w.push(noiseWarning(`${r.id} single-stream p50`, r.singleStream.repeats) ?? '');
  for (const o of r.offline ?? []) w.push(noiseWarning(`${r.id} offline batch ${o.batch}`, o.throughput) ?? '');
  return w.filter(Boolean);
}

export async function runBenchmark(o: BenchmarkOptions): Promise<BenchmarkResult> {
  checkOptions(o);
  const limits: ScenarioLimits = { ...(o.quick ? QUICK_LIMITS : DEFAULT_LIMITS), ...o.limits };
  if (o.latencyBoundMs) limits.latencyBoundMs = o.latencyBoundMs;
  const scenarios = o.scenarios ?? [...SCENARIOS];
  const batches = o.batches ?? [1, 8, 32];
  const tolerance = o.tolerance ?? DEFAULT_TOLERANCE;
  const ids = o.runtimes ?? Object.keys(RUNNERS);
  const work = mkdtempSync(join(os.tmpdir(), 'semembed-benchmark-'));
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  try {
    const model = await resolveModel(o.model, { work, dataset: o.dataset, architecture: o.architecture });
    const labelled = o.labelled ?? (o.data ? await loadLabelled(o.data, model) : undefined);
    if (labelled && labelled.data.length !== labelled.n * model.sampleSize) {
      throw new BenchmarkError(
        `labelled data (${labelled.source}): ${labelled.data.length / labelled.n} values per sample, ` +
          `the model takes ${model.sampleSize}`,
      );
    }
    const environment = describeEnvironment();
    const cores = environment.cores;
    const ctx: RunnerContext = {
      model,
      work,
      cores,
      maxBatchSize: o.maxBatchSize ?? 32,
      maxQueueDelayMs: o.maxQueueDelayMs ?? 2,
    };
    const accN = o.accuracySamples ?? (o.quick ? 8 : 32);
    const poolN = Math.max(8, accN);
    const pool = { data: syntheticSamples(model, poolN), n: poolN };
    const plan: Plan = {
      model,
      ctx,
      limits,
      scenarios,
      batches,
      acc: { data: pool.data.subarray(0, accN * model.sampleSize), n: accN },
      labelled,
      pool,
    };
    const cost = modelCost(model.onnx);
    const peak = o.noPeak ? undefined : measurePeak(cores);
    const variants = resolveVariants(o.variants ?? [], model);
    const precision = modelPrecision(model);
    const runners = [...ids.map((id) => RUNNERS[id]()), ...(o.extraRunners ?? [])];
    const progress = createProgress(o.progress === true, log);
    const reports: RunnerReport[] = [];
    const outputs = new Map<string, { acc?: Outputs; lab?: Outputs }>();
    // The reference runs first; when it is not among the runtimes asked for, it still runs for the outputs only.
    const refRunner = runners.find((r) => r.id === REFERENCE_RUNNER);
    if (!refRunner) {
      const ref = RUNNERS[REFERENCE_RUNNER]();
      const bar = progress.bar(`${ref.id} (reference)`, 2);
      const res = await runOne(ref, { ...plan, scenarios: [] }, bar);
      bar.done(res.report.status === 'ok' ? 'reference outputs' : (res.report.reason ?? ''));
      outputs.set(ref.id, res);
    }
    const ordered = refRunner ? [refRunner, ...runners.filter((r) => r !== refRunner)] : runners;
    for (const runner of ordered) {
      const bar = progress.bar(runner.id, stepsFor(plan));
      const res = await runOne(runner, plan, bar);
      bar.done(res.report.status === 'ok' ? 'done' : `${res.report.status}: ${res.report.reason}`);
      reports.push({ ...res.report, variant: precision });
      outputs.set(runner.id, res);
    }
    // Each variant: fresh runners of the same registered runtimes, the same inputs; the rows keep one id each.
    for (const v of variants) {
      const vplan: Plan = { ...plan, model: v, ctx: { ...ctx, model: v } };
      for (const id of ids) {
        const runner = RUNNERS[id]();
        const vid = `${id}@${v.variant}`;
        const bar = progress.bar(vid, stepsFor(vplan));
        const res = await runOne(runner, vplan, bar);
        bar.done(res.report.status === 'ok' ? 'done' : `${res.report.status}: ${res.report.reason}`);
        reports.push({ ...res.report, id: vid, label: `${runner.label} [${v.variant}]`, variant: v.variant });
        outputs.set(vid, res);
      }
    }
    progress.stop();
    const ref = outputs.get(REFERENCE_RUNNER);
    const warnings: string[] = [];
    if (!ref?.acc) warnings.push(`the reference runtime ${REFERENCE_RUNNER} gave no outputs: no accuracy columns`);
    for (const r of reports) {
      const mine = outputs.get(r.id);
      if (r.status === 'ok' && ref?.acc && mine?.acc) {
        r.accuracy = compareOutputs(REFERENCE_RUNNER, ref.acc, mine.acc, model.sidecar, accN, tolerance);
        if (labelled && mine.lab) r.accuracy.labelled = labelledMetrics(mine.lab, model.sidecar, labelled);
      }
      if (cost.flopsPerSample && peak) {
        for (const off of r.offline ?? []) {
          off.gflops = (cost.flopsPerSample * off.throughput.median) / 1e9;
          off.percentOfPeak = (100 * off.gflops) / peak.gflops;
        }
      }
      r.noise = noise(r);
      warnings.push(...r.noise);
    }
    if (cost.reason) warnings.push(`roofline: ${cost.reason}`);
    for (const r of reports) {
      const adapter = /(WebGPU|webgpu) on (.+)$/.exec(r.detail ?? '')?.[2];
      if (adapter) environment.gpu.push(`${adapter} (WebGPU adapter seen by ${r.id})`);
    }
    return {
      format: RESULT_FORMAT,
      model: {
        source: o.model,
        onnx: model.onnx,
        h5: model.h5,
        input: model.sampleShape,
        layout: model.sidecar.input.layout,
        outputs: model.outputNames,
      },
      environment,
      settings: {
        runtimes: runners.map((r) => r.id),
        scenarios,
        batches,
        tolerance,
        latencyBoundMs: limits.latencyBoundMs,
        quick: o.quick === true,
        limits,
        accuracySamples: accN,
        reference: REFERENCE_RUNNER,
        labelledSource: labelled?.source,
        precision,
        variants: variants.map((v) => ({ name: v.variant!, onnx: v.onnx })),
      },
      cost,
      peak,
      runners: reports,
      recommendation: recommend(reports),
      warnings,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

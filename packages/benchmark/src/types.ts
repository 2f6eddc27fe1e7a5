// The runner contract and the result types. A runtime is one Runner (one file under runners/, one line in
// runners/registry.ts); the harness (benchmark.ts) knows no runtime.
import type { Sidecar } from '@semembed/runtime-node';

/** The model under test, resolved from the MODEL argument. */
export interface ModelFiles {
  /** What the user gave. */
  source: string;
  onnx: string;
  sidecarPath: string;
  sidecar: Sidecar;
  /** The Keras file the ONNX model was converted from (TF.js runners run it); absent for .onnx input. */
  h5?: string;
  /** One sample's shape in the model's layout (without the batch axis). */
  sampleShape: number[];
  sampleSize: number;
  /** Output names in sidecar order. */
  outputNames: string[];
  /** Precision-variant name (`--variants NAME=FILE.onnx`); absent for MODEL itself. */
  variant?: string;
}

/** Inputs are deterministic and shared by every runner, keyed so a runner may cache an upload. */
export interface Batch {
  key: string;
  data: Float32Array;
  n: number;
}

export type Outputs = Record<string, Float32Array>;

export interface RunResult {
  /** The runner's own timing of the inference (e.g. measured inside the browser page), else the harness's. */
  ms?: number;
  /** Present when asked for (`outputs: true`). */
  outputs?: Outputs;
}

export interface LoadResult {
  /** Session creation (incl. shader compilation where the runtime does it there), ms. */
  sessionMs: number;
  /** What actually runs: provider, backend, adapter, threads. */
  detail: string;
  /** GPU memory in bytes where the runtime reports it. */
  gpuMemoryBytes?: number;
}

export type Availability = { ok: true } | { ok: false; reason: string };

export interface RunnerContext {
  model: ModelFiles;
  /** Folder for the run's temporary files. */
  work: string;
  cores: number;
  /** Server runner: dynamic batching settings. */
  maxBatchSize: number;
  maxQueueDelayMs: number;
}

export interface Runner {
  /** Stable id used by --runtimes, e.g. `ort-node-cpu-1`. */
  readonly id: string;
  /** Human label for tables. */
  readonly label: string;
  /** Where it runs: node | browser | server. */
  readonly family: 'node' | 'browser' | 'server';
  /** Whether overlapping run() calls are allowed (server scenario); others are queued one at a time. */
  readonly concurrent?: boolean;
  available(ctx: RunnerContext): Promise<Availability>;
  load(ctx: RunnerContext): Promise<LoadResult>;
  run(batch: Batch, opts?: { outputs?: boolean }): Promise<RunResult>;
  dispose(): Promise<void>;
}

export type RunnerFactory = () => Runner;

export interface Summary {
  min: number;
  median: number;
  max: number;
  /** (max − min) / median over the repeats. */
  spread: number;
  runs: number[];
}

export interface SingleStreamResult {
  queries: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  /** Sorted latencies (ms) for the CDF plot. */
  latencies: number[];
  /** Median per repeat; its spread is the noise figure. */
  repeats: Summary;
}

export interface OfflineResult {
  batch: number;
  /** Samples per second over the repeats. */
  throughput: Summary;
  msPerBatch: number;
  /** Achieved GFLOP/s and % of the machine's measured peak. */
  gflops?: number;
  percentOfPeak?: number;
}

export interface ServerLevel {
  qps: number;
  queries: number;
  p99: number;
  ok: boolean;
}

export interface ServerResult {
  latencyBoundMs: number;
  /** Highest offered QPS whose p99 stayed under the bound (0 when none did). */
  maxQps: number;
  levels: ServerLevel[];
}

export interface ColdStartResult {
  sessionMs: number;
  firstInferenceMs: number;
  totalMs: number;
}

export interface AccuracyResult {
  reference: string;
  samples: number;
  /** Per output name. */
  outputs: Record<string, { maxAbsDiff: number; worstCosine: number }>;
  /** Top-1 agreement of the class output (probabilities, else nearest class embedding) with the reference. */
  top1Agreement?: number;
  /** Beyond --tolerance. */
  flagged: boolean;
  flagReason?: string;
  /** With labelled data. */
  labelled?: { mAHP?: number; balancedAccuracy?: number; samples: number; k?: number };
}

export interface RunnerReport {
  /** The runner's id; a variant's rows are `<runner>@<variant>`. */
  id: string;
  /** Which model ran: MODEL's precision (sidecar `precision`, else fp32) or the `--variants` name. */
  variant?: string;
  label: string;
  family: string;
  status: 'ok' | 'unavailable' | 'failed';
  /** Why unavailable, or what failed and where. */
  reason?: string;
  detail?: string;
  coldStart?: ColdStartResult;
  singleStream?: SingleStreamResult;
  offline?: OfflineResult[];
  server?: ServerResult;
  accuracy?: AccuracyResult;
  /** Peak RSS of this process while the runner worked (Chromium: its renderer's JS heap is not included). */
  peakRssBytes?: number;
  gpuMemoryBytes?: number;
  noise?: string[];
}

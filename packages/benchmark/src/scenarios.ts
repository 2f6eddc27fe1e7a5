// The four scenarios in MLPerf LoadGen's terms, against any Runner. Timings are the runner's own (in-page for
// browsers) when it reports one, else wall time around run(). No scenario runs unbounded: every loop has a
// query count and a time limit.
import { mulberry32 } from '@semembed/formats';
import { percentile, summarize } from './stats.js';
import type {
  Batch,
  ColdStartResult,
  OfflineResult,
  Runner,
  RunnerContext,
  ServerLevel,
  ServerResult,
  SingleStreamResult,
} from './types.js';

export interface ScenarioLimits {
  /** Timed repeats (each a median / a throughput); warm-up runs come first. */
  repeats: number;
  warmups: number;
  /** Single stream: queries per repeat, and a time limit per repeat. */
  queries: number;
  maxSecondsPerRepeat: number;
  /** Offline: minimum batches per repeat and its time budget. */
  minBatches: number;
  offlineSeconds: number;
  /** Server: seconds per QPS level and the most levels tried. */
  serverSeconds: number;
  serverLevels: number;
  latencyBoundMs: number;
}

export const QUICK_LIMITS: ScenarioLimits = {
  repeats: 2,
  warmups: 1,
  queries: 8,
  maxSecondsPerRepeat: 2,
  minBatches: 2,
  offlineSeconds: 0.5,
  serverSeconds: 0.6,
  serverLevels: 4,
  latencyBoundMs: 100,
};
export const DEFAULT_LIMITS: ScenarioLimits = {
  repeats: 3,
  warmups: 3,
  queries: 100,
  maxSecondsPerRepeat: 10,
  minBatches: 3,
  offlineSeconds: 2,
  serverSeconds: 3,
  serverLevels: 8,
  latencyBoundMs: 100,
};

export async function timed(runner: Runner, batch: Batch): Promise<number> {
  const t0 = performance.now();
  const r = await runner.run(batch);
  return r.ms ?? performance.now() - t0;
}

/** Batch 1, queries back to back; latency percentiles over every timed query, noise from the repeat medians. */
export async function singleStream(
  runner: Runner,
  one: Batch,
  lim: ScenarioLimits,
  tick: () => void,
): Promise<SingleStreamResult> {
  for (let i = 0; i < lim.warmups; i++) await timed(runner, one);
  const all: number[] = [];
  const medians: number[] = [];
  for (let r = 0; r < lim.repeats; r++) {
    const lat: number[] = [];
    const t0 = performance.now();
    while (lat.length < lim.queries && (lat.length < 2 || performance.now() - t0 < lim.maxSecondsPerRepeat * 1000)) {
      lat.push(await timed(runner, one));
    }
    lat.sort((a, b) => a - b);
    medians.push(percentile(lat, 50));
    all.push(...lat);
    tick();
  }
  all.sort((a, b) => a - b);
  return {
    queries: all.length,
    p50: percentile(all, 50),
    p90: percentile(all, 90),
    p99: percentile(all, 99),
    mean: all.reduce((a, b) => a + b, 0) / all.length,
    latencies: all,
    repeats: summarize(medians),
  };
}

/** Throughput (samples/s) per batch size: batches back to back for a time budget, `repeats` times. */
export async function offline(
  runner: Runner,
  batch: Batch,
  lim: ScenarioLimits,
  tick: () => void,
): Promise<OfflineResult> {
  await timed(runner, batch);
  const rates: number[] = [];
  const per: number[] = [];
  for (let r = 0; r < lim.repeats; r++) {
    let busy = 0;
    let k = 0;
    const t0 = performance.now();
    while (k < lim.minBatches || performance.now() - t0 < lim.offlineSeconds * 1000) {
      busy += await timed(runner, batch);
      k++;
      if (performance.now() - t0 > lim.maxSecondsPerRepeat * 1000 && k >= 1) break;
    }
    rates.push((k * batch.n) / (busy / 1000));
    per.push(busy / k);
    tick();
  }
  const throughput = summarize(rates);
  return { batch: batch.n, throughput, msPerBatch: per.sort((a, b) => a - b)[Math.floor(per.length / 2)] };
}

/** Exponential inter-arrival times from a seeded generator, so runs are repeatable. */
function poissonArrivals(qps: number, seconds: number, seed: number): number[] {
  const rnd = mulberry32(seed);
  const out: number[] = [];
  let t = 0;
  while (t < seconds * 1000) {
    t += (-Math.log(1 - rnd()) / qps) * 1000;
    out.push(t);
  }
  return out;
}

/** One QPS level: Poisson arrivals; latency = completion − scheduled arrival (queueing included). */
async function serverLevel(runner: Runner, one: Batch, qps: number, lim: ScenarioLimits): Promise<ServerLevel> {
  const arrivals = poissonArrivals(qps, lim.serverSeconds, Math.round(qps * 1000));
  const lat: number[] = [];
  const t0 = performance.now();
  const deadline = lim.serverSeconds * 1000 * 3 + lim.latencyBoundMs * 10;
  let chain = Promise.resolve();
  const pending: Promise<void>[] = [];
  for (const at of arrivals) {
    const wait = at - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (performance.now() - t0 > deadline) break;
    const issue = async () => {
      await runner.run(one);
      lat.push(performance.now() - t0 - at);
    };
    if (runner.concurrent) pending.push(issue());
    else {
      // A one-at-a-time system under test: queries queue FIFO behind each other.
      chain = chain.then(issue);
      pending.push(chain);
    }
  }
  await Promise.all(pending);
  lat.sort((a, b) => a - b);
  const p99 = percentile(lat, 99);
  return { qps, queries: lat.length, p99, ok: lat.length === arrivals.length && p99 <= lim.latencyBoundMs };
}

/**
 * Highest QPS whose p99 stays under the bound: start at half the batch-1 rate, double while it holds,
 * then bisect between the last good and the first bad level; at most `serverLevels` levels.
 */
export async function serverScenario(
  runner: Runner,
  one: Batch,
  msPerQuery: number,
  lim: ScenarioLimits,
  tick: () => void,
): Promise<ServerResult> {
  const levels: ServerLevel[] = [];
  let lo = 0;
  let hi = Infinity;
  let qps = Math.max(0.05, 500 / Math.max(msPerQuery, 0.01));
  for (let i = 0; i < lim.serverLevels; i++) {
    const level = await serverLevel(runner, one, qps, lim);
    levels.push(level);
    tick();
    if (level.ok) lo = Math.max(lo, qps);
    else hi = Math.min(hi, qps);
    if (hi === Infinity) qps *= 2;
    else if (lo === 0) qps = hi / 2;
    else if ((hi - lo) / hi < 0.15) break;
    else qps = (lo + hi) / 2;
  }
  return { latencyBoundMs: lim.latencyBoundMs, maxQps: lo, levels };
}

/** Session creation and the first inference, each timed (a fresh runner: nothing cached in this process's session). */
export async function coldStart(
  runner: Runner,
  ctx: RunnerContext,
  one: Batch,
): Promise<{ result: ColdStartResult; detail: string; gpuMemoryBytes?: number }> {
  const t0 = performance.now();
  const load = await runner.load(ctx);
  const t1 = performance.now();
  const first = await timed(runner, one);
  const total = performance.now() - t0;
  return {
    result: { sessionMs: load.sessionMs, firstInferenceMs: first, totalMs: Math.max(total, t1 - t0 + first) },
    detail: load.detail,
    gpuMemoryBytes: load.gpuMemoryBytes,
  };
}

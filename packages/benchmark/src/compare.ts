// --compare OLD.json: ratios of the new run's figures to an earlier run's, per runtime and scenario, with
// regressions (worse by more than the threshold: slower throughput, higher latency, lower QPS) flagged.
import { readFileSync } from 'node:fs';
import type { BenchmarkResult } from './benchmark.js';
import { BenchmarkError, firstLine } from './errors.js';
import { validateResult } from './schema.js';
import { fmt } from './stats.js';

export interface Comparison {
  runtime: string;
  metric: string;
  old: number;
  new: number;
  /** new / old. */
  ratio: number;
  /** Worse by more than the threshold. */
  regression: boolean;
}

export function readResult(file: string): BenchmarkResult {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BenchmarkError(`--compare ${file}: ${firstLine(err)}`);
  }
  const errors = validateResult(json);
  if (errors) throw new BenchmarkError(`--compare ${file}: not a semembed benchmark result (${errors[0]})`);
  return json as BenchmarkResult;
}

/** `threshold` 0.1 = 10% worse counts as a regression (the noise warning's level). */
export function compareResults(oldRes: BenchmarkResult, newRes: BenchmarkResult, threshold = 0.1): Comparison[] {
  const out: Comparison[] = [];
  const add = (
    runtime: string,
    metric: string,
    o: number | undefined,
    n: number | undefined,
    higherIsBetter: boolean,
  ) => {
    if (o === undefined || n === undefined || !(o > 0) || !Number.isFinite(n)) return;
    const ratio = n / o;
    out.push({
      runtime,
      metric,
      old: o,
      new: n,
      ratio,
      regression: higherIsBetter ? ratio < 1 - threshold : ratio > 1 + threshold,
    });
  };
  for (const r of newRes.runners) {
    const old = oldRes.runners.find((x) => x.id === r.id);
    if (!old || old.status !== 'ok' || r.status !== 'ok') continue;
    add(r.id, 'single-stream p50 ms', old.singleStream?.p50, r.singleStream?.p50, false);
    add(r.id, 'single-stream p99 ms', old.singleStream?.p99, r.singleStream?.p99, false);
    for (const o of r.offline ?? [])
      add(
        r.id,
        `offline batch ${o.batch} samples/s`,
        old.offline?.find((x) => x.batch === o.batch)?.throughput.median,
        o.throughput.median,
        true,
      );
    add(r.id, 'server max QPS', old.server?.maxQps, r.server?.maxQps, true);
    add(r.id, 'cold start ms', old.coldStart?.totalMs, r.coldStart?.totalMs, false);
  }
  return out;
}

export function formatComparison(c: Comparison[]): string {
  if (!c.length) return 'compare: no runtime and scenario in common with the old run';
  const lines = c.map(
    (x) =>
      `${x.runtime.padEnd(20)} ${x.metric.padEnd(30)} ${fmt(x.old).padStart(8)} -> ${fmt(x.new).padStart(8)}  ` +
      `x${x.ratio.toFixed(2)}${x.regression ? '  REGRESSION' : ''}`,
  );
  const n = c.filter((x) => x.regression).length;
  return [...lines, n ? `${n} regression${n > 1 ? 's' : ''} (worse by more than 10%)` : 'no regressions'].join('\n');
}

// The report's plots: latency CDF per runtime, throughput against batch size, accuracy deltas (vega-lite,
// rendered by @semembed/retrieval's writePlot to SVG and PNG).
import { join } from 'node:path';
import { writePlot } from '@semembed/retrieval';
import type { BenchmarkResult } from './benchmark.js';

type Spec = Parameters<typeof writePlot>[0];

/** The line plots' common frame. */
const frame = (title: string) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  width: 560,
  height: 320,
  background: 'white',
  title,
});

function latencyCdf(res: BenchmarkResult): Spec | undefined {
  const values: { runtime: string; ms: number; fraction: number }[] = [];
  for (const r of res.runners) {
    const l = r.singleStream?.latencies;
    if (!l?.length) continue;
    // At most 200 points per curve keep the SVG small.
    const step = Math.max(1, Math.floor(l.length / 200));
    for (let i = 0; i < l.length; i += step) values.push({ runtime: r.id, ms: l[i], fraction: (i + 1) / l.length });
    values.push({ runtime: r.id, ms: l[l.length - 1], fraction: 1 });
  }
  if (!values.length) return undefined;
  return {
    ...frame('Single-stream latency CDF (batch 1)'),
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'ms', type: 'quantitative', title: 'latency (ms, log)', scale: { type: 'log' } },
      y: { field: 'fraction', type: 'quantitative', title: 'fraction of queries' },
      color: { field: 'runtime', type: 'nominal', sort: null },
    },
  };
}

function throughput(res: BenchmarkResult): Spec | undefined {
  const values = res.runners.flatMap((r) =>
    (r.offline ?? []).map((o) => ({ runtime: r.id, batch: o.batch, rate: o.throughput.median })),
  );
  if (!values.length) return undefined;
  return {
    ...frame('Offline throughput vs batch size'),
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'batch', type: 'quantitative', title: 'batch size', scale: { type: 'log', base: 2 } },
      y: { field: 'rate', type: 'quantitative', title: 'samples / s (log)', scale: { type: 'log' } },
      color: { field: 'runtime', type: 'nominal', sort: null },
    },
  };
}

function accuracy(res: BenchmarkResult): Spec | undefined {
  const values = res.runners.flatMap((r) =>
    Object.entries(r.accuracy?.outputs ?? {}).map(([output, a]) => ({
      runtime: r.id,
      output,
      diff: Math.max(a.maxAbsDiff, 1e-10),
    })),
  );
  if (!values.length) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 520,
    height: { step: 16 },
    background: 'white',
    title: `Max |output − ${res.settings.reference}| (tolerance ${res.settings.tolerance})`,
    data: { values },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'runtime', type: 'nominal', sort: null },
          yOffset: { field: 'output' },
          x: {
            field: 'diff',
            type: 'quantitative',
            scale: { type: 'log' },
            title: 'max abs diff (log; 1e-10 = identical)',
          },
          color: { field: 'output', type: 'nominal' },
        },
      },
      {
        data: { values: [{ t: res.settings.tolerance }] },
        mark: { type: 'rule', color: 'red' },
        encoding: { x: { field: 't', type: 'quantitative' } },
      },
    ],
  } as Spec;
}

/** Writes the plots that have data; returns their base names (without extension). */
export async function writeReportPlots(res: BenchmarkResult, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const [name, spec] of [
    ['latency-cdf', latencyCdf(res)],
    ['throughput', throughput(res)],
    ['accuracy', accuracy(res)],
  ] as const) {
    if (!spec) continue;
    await writePlot(spec, join(dir, name));
    out.push(name);
  }
  return out;
}

// The one-line answer: which runtime for single images, which for batches (only runtimes whose outputs agree).
import { fmt } from './stats.js';
import type { RunnerReport } from './types.js';

export function recommend(reports: RunnerReport[]): string {
  const good = reports.filter((r) => r.status === 'ok' && !r.accuracy?.flagged);
  const single = good.filter((r) => r.singleStream).sort((a, b) => a.singleStream!.p99 - b.singleStream!.p99)[0];
  let batch: { r: RunnerReport; b: number; t: number } | undefined;
  for (const r of good)
    for (const o of r.offline ?? [])
      if (!batch || o.throughput.median > batch.t) batch = { r, b: o.batch, t: o.throughput.median };
  const parts: string[] = [];
  if (single) parts.push(`for single images use ${single.label} (p99 ${fmt(single.singleStream!.p99)} ms)`);
  if (batch) parts.push(`for batches use ${batch.r.label} at batch ${batch.b} (${fmt(batch.t)} samples/s)`);
  const flagged = reports.filter((r) => r.accuracy?.flagged).map((r) => r.id);
  if (flagged.length) parts.push(`outputs beyond the tolerance: ${flagged.join(', ')}`);
  return parts.length ? `${parts.join('; ')}.` : 'no runtime completed a scenario: nothing to recommend.';
}

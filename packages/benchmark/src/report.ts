// Terminal table, Markdown report (with the plots), JSON file. Everything shown is also in the JSON.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@semembed/formats';
import type { BenchmarkResult } from './benchmark.js';
import { writeReportPlots } from './plots.js';
import { fmt } from './stats.js';
import type { RunnerReport } from './types.js';

const gib = (b?: number) => (b === undefined ? '-' : `${(b / 2 ** 20).toFixed(0)} MiB`);

function accCells(r: RunnerReport): string[] {
  const a = r.accuracy;
  if (!a) return ['-', '-', '-', '-'];
  const max = Math.max(...Object.values(a.outputs).map((o) => o.maxAbsDiff));
  const cos = Math.min(...Object.values(a.outputs).map((o) => o.worstCosine));
  const top1 = a.top1Agreement === undefined ? '-' : `${(a.top1Agreement * 100).toFixed(0)}%`;
  return [
    Number.isFinite(max) ? max.toExponential(1) : String(max),
    cos.toFixed(6),
    top1,
    a.flagged ? 'FLAGGED' : 'ok',
  ];
}

/** One row per runner: the columns both the terminal and the Markdown table show. */
export function tableRows(res: BenchmarkResult): { head: string[]; rows: string[][] } {
  const batches = res.settings.batches;
  const labelled = res.runners.some((r) => r.accuracy?.labelled);
  const head = [
    'runtime',
    'status',
    'variant',
    'p50 ms',
    'p99 ms',
    ...batches.map((b) => `b${b} img/s`),
    'server QPS (p99 ok)',
    'session ms',
    'first ms',
    'peak RSS',
    'max abs diff',
    'worst cos',
    'top-1 agree',
    'parity',
    ...(labelled ? ['mAHP', 'bal. acc'] : []),
    '% peak',
  ];
  const rows = res.runners.map((r) => {
    if (r.status !== 'ok') return [r.id, r.status, r.reason ?? ''];
    const off = (b: number) => r.offline?.find((o) => o.batch === b);
    const bestPeak = Math.max(...(r.offline ?? []).map((o) => o.percentOfPeak ?? NaN));
    const l = r.accuracy?.labelled;
    return [
      r.id,
      'ok',
      r.variant ?? '-',
      fmt(r.singleStream?.p50),
      fmt(r.singleStream?.p99),
      ...batches.map((b) => fmt(off(b)?.throughput.median)),
      r.server ? (r.server.maxQps > 0 ? fmt(r.server.maxQps) : 'none') : '-',
      fmt(r.coldStart?.sessionMs),
      fmt(r.coldStart?.firstInferenceMs),
      gib(r.peakRssBytes),
      ...accCells(r),
      ...(labelled
        ? [
            l?.mAHP === undefined ? '-' : l.mAHP.toFixed(4),
            l?.balancedAccuracy === undefined ? '-' : `${(l.balancedAccuracy * 100).toFixed(2)}%`,
          ]
        : []),
      Number.isFinite(bestPeak) ? `${bestPeak.toFixed(1)}%` : '-',
    ];
  });
  return { head, rows };
}

export function terminalTable(res: BenchmarkResult): string {
  const { head, rows } = tableRows(res);
  const ok = rows.filter((r) => r.length === head.length);
  const widths = head.map((h, i) => Math.max(h.length, ...ok.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(r.length === head.length ? line(r) : `${r[0].padEnd(widths[0])}  ${r[1]}: ${r[2]}`);
  out.push('', res.recommendation);
  for (const w of res.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}

function envLines(res: BenchmarkResult): string[] {
  const e = res.environment;
  const v = Object.entries(e.versions)
    .map(([k, x]) => `${k} ${x}`)
    .join(', ');
  const lines = [
    `- **Machine**: ${e.cores} × ${e.cpu}, ${(e.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${e.os}; ` +
      `load average at start ${e.loadAverage.join(' / ')}`,
    `- **Software**: Node ${e.node}, ${v}${e.chromium ? `, ${e.chromium}` : ''}`,
    `- **GPU**: ${e.gpu.length ? e.gpu.join('; ') : 'none found'}${
      Object.keys(e.env).length
        ? ` (${Object.entries(e.env)
            .map(([k, x]) => `${k}=${x}`)
            .join(', ')})`
        : ''
    }`,
  ];
  if (res.peak)
    lines.push(
      `- **Measured peak**: ${fmt(res.peak.gflops)} GFLOP/s (${res.peak.sgemm}), ` +
        `copy bandwidth ${fmt(res.peak.bandwidthGBs)} GB/s`,
    );
  const c = res.cost;
  lines.push(
    c.flopsPerSample
      ? `- **Model cost**: ${fmt(c.flopsPerSample / 1e6)} MFLOP` +
          `${c.bytesPerSample ? `, ${fmt(c.bytesPerSample / 2 ** 20)} MiB moved` : ''} per sample (ONNX graph)`
      : `- **Model cost**: unknown (${c.reason})`,
  );
  const s = res.settings;
  lines.push(
    `- **Settings**: scenarios ${s.scenarios.join(', ')}; batches ${s.batches.join(', ')}; ` +
      `${s.limits.repeats} repeats after ${s.limits.warmups} warm-ups (medians); ` +
      `tolerance ${s.tolerance} vs ${s.reference} on ${s.accuracySamples} samples; ` +
      `p99 bound ${s.latencyBoundMs} ms${s.quick ? '; quick mode' : ''}`,
  );
  return lines;
}

export function markdownReport(res: BenchmarkResult, plots: string[] = []): string {
  const { head, rows } = tableRows(res);
  const out = [
    `# Benchmark: ${res.model.source}`,
    '',
    `Input ${res.model.input.join('×')} (${res.model.layout}), outputs ${res.model.outputs.join(', ')}; ` +
      `${res.environment.date}.`,
    '',
    ...envLines(res),
    '',
    `**Recommendation**: ${res.recommendation}`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`,
  ];
  for (const r of rows)
    out.push(
      r.length === head.length
        ? `| ${r.join(' | ')} |`
        : `| ${r[0]} | ${r[1]} | ${r[2].replace(/\|/g, '\\|')} |${' |'.repeat(head.length - 3)}`,
    );
  out.push('');
  const details = res.runners
    .filter((r) => r.detail)
    .map(
      (r) => `- \`${r.id}\`: ${r.detail}${r.accuracy?.flagReason ? ` — **flagged**: ${r.accuracy.flagReason}` : ''}`,
    );
  if (details.length) out.push('What ran:', '', ...details, '');
  const server = res.runners.filter((r) => r.server);
  if (server.length) {
    out.push(
      `Server scenario (Poisson arrivals, p99 bound ${res.settings.latencyBoundMs} ms), levels tried (QPS → p99 ms):`,
      '',
    );
    const level = (l: { qps: number; p99: number; ok: boolean }) => `${fmt(l.qps)} → ${fmt(l.p99)}${l.ok ? '' : ' ✗'}`;
    for (const r of server) out.push(`- \`${r.id}\`: ${r.server!.levels.map(level).join(', ')}`);
    out.push('');
  }
  if (res.warnings.length) out.push('Warnings:', '', ...res.warnings.map((w) => `- ${w}`), '');
  for (const p of plots) out.push(`![${p}](${p}.svg)`, '');
  return out.join('\n');
}

/** Writes `<dir>/README.md` and the plots (SVG + PNG). */
export async function writeReport(res: BenchmarkResult, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const plots = await writeReportPlots(res, dir);
  const file = join(dir, 'README.md');
  writeFileAtomic(file, markdownReport(res, plots));
  return file;
}

export function writeJson(res: BenchmarkResult, file: string): void {
  writeFileAtomic(file, `${JSON.stringify(res, null, 1)}\n`);
}

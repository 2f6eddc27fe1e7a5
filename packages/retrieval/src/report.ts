// Output as the reference's evaluate_retrieval.py writes it: the console table, the CSV of P@k, plus JSON.
import { RetrievalError } from './errors.js';

/** The reference's METRICS columns (AHP named AHP@K when clipped). */
export function tableMetrics(clipAhp?: number): string[] {
  const ahp = clipAhp ? `AHP@${clipAhp}` : 'AHP';
  const cols: string[] = [];
  for (const kind of ['WUP', 'LCS_HEIGHT']) {
    for (const k of [1, 10, 50, 100]) cols.push(`P@${k} (${kind})`);
    cols.push(`${ahp} (${kind})`);
  }
  cols.push('AP');
  return cols;
}

/** print_performance: header row, dashes, one row per feature set with 4 decimals (leading/trailing blank lines). */
export function formatTable(perf: Map<string, Record<string, number>>, metrics: string[]): string {
  const width = Math.max(...[...perf.keys()].map((l) => l.length));
  const lines = [''];
  lines.push([' '.repeat(width), ...metrics.map((m) => center(m, 6))].join(' | '));
  lines.push('-'.repeat(width + metrics.reduce((s, m) => s + 3 + Math.max(6, m.length), 0)));
  for (const [label, res] of perf) {
    const cells = metrics.map((m) => {
      const v = res[m];
      if (v === undefined) throw new RetrievalError(`metric ${m} was not computed for ${label}`);
      return v.toFixed(4).padStart(Math.max(m.length, 6));
    });
    lines.push(`${label.padEnd(width)} | ${cells.join(' | ')}`);
  }
  lines.push('');
  return lines.join('\n') + '\n';
}

/** Python's '{:^6s}': centred, the extra space on the right. */
function center(s: string, width: number): string {
  if (s.length >= width) return s;
  const total = width - s.length;
  const left = Math.floor(total / 2);
  return ' '.repeat(left) + s + ' '.repeat(total - left);
}

/** write_performance: `k;label...` then one line per k while every set has P@k (prec_type); Python float repr. */
export function formatCsv(
  perf: Map<string, Record<string, number>>,
  precType: string,
  pyFloat: (x: number) => string,
): string {
  let out = `k;${[...perf.keys()].join(';')}\n`;
  for (let k = 1; ; k++) {
    const name = `P@${k} (${precType})`;
    const values = [...perf.values()].map((r) => r[name]);
    if (values.some((v) => v === undefined)) break;
    out += `${k};${values.map(pyFloat).join(';')}\n`;
  }
  return out;
}

/** ks as the reference builds them: 1..plot_max, then 1, 10, 50, 100 where they exceed the last one. */
export function referenceKs(plotMax: number): number[] {
  const ks = Array.from({ length: Math.max(0, plotMax) }, (_, i) => i + 1);
  for (const k of [1, 10, 50, 100]) if (ks.length === 0 || ks[ks.length - 1] < k) ks.push(k);
  return ks;
}

// The repository's runtime benchmarks as calls of @semembed/benchmark (no second harness): one runBenchmark per
// model, the JSON kept beside the Markdown, the plots in bench/results/benchmark-plots/<name>/.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { markdownReport, runBenchmark, terminalTable, writeJson, writeReportPlots } from '@semembed/benchmark';

export const RESULTS = join(import.meta.dirname, '..', 'results');

export const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};

/**
 * Runs one model, returns its Markdown section (heading level 2, plots linked relative to bench/results/).
 * `note` says what the model is and why runtimes were left out.
 */
export async function benchSection(name, title, note, options) {
  const load = loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
  console.error(`\n=== ${name}: ${options.model} (load average ${load})`);
  const res = await runBenchmark({ progress: true, ...options });
  console.error(terminalTable(res));
  const plotDir = join(RESULTS, 'benchmark-plots', name);
  mkdirSync(plotDir, { recursive: true });
  writeJson(res, join(plotDir, 'result.json'));
  const plots = await writeReportPlots(res, plotDir);
  // SVG only in the repository (the PNG copies are three times larger and say the same).
  for (const p of plots) rmSync(join(plotDir, `${p}.png`), { force: true });
  let md = markdownReport(
    res,
    plots.map((p) => relative(RESULTS, join(plotDir, p))),
  );
  // The report's title becomes this section's heading.
  md = md.replace(
    /^# Benchmark: .*\n/,
    `## ${title}\n\n${note}\n\nLoad average before this model: ${load} (2 cores shared with 7 other agents: noisy, medians).\n`,
  );
  return md;
}

export function writeResults(file, header, sections) {
  writeFileSync(join(RESULTS, file), `${header}\n\n${sections.join('\n\n')}\n`);
  console.error(`wrote bench/results/${file}`);
}

// Bar chart of bench/retrieval/speed.sh results (CPU seconds and wall seconds per case, median over runs):
// node bench/retrieval/plot-speed.mjs <speed.jsonl>... -> bench/results/retrieval-speed.{svg,png}
import { readFileSync } from 'node:fs';
import { writePlot } from '@semembed/retrieval';

const rows = process.argv
  .slice(2)
  .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean))
  .map((l) => JSON.parse(l.replace(/\bnan\b/g, 'null')))
  // the reference side (numpy's ranking step only) as a case of its own
  .map((r) =>
    r.numpy_cpu_seconds === undefined
      ? r
      : { ...r, cpuSeconds: r.numpy_cpu_seconds, seconds: r.numpy_pdist_argsort_seconds },
  )
  .filter((r) => r.cpuSeconds !== undefined);
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const values = [];
for (const c of [...new Set(rows.map((r) => r.case))]) {
  const of = rows.filter((r) => r.case === c);
  const size = c.split('-')[0];
  values.push({ size, case: c, measure: 'CPU s', seconds: median(of.map((r) => r.cpuSeconds)) });
  values.push({ size, case: c, measure: 'wall s', seconds: median(of.map((r) => r.seconds)) });
}
const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: 'Retrieval evaluation, every query vs all others (P@1..250, AHP@250, AP): native vs JS kernel',
  data: { values },
  facet: { row: { field: 'size', type: 'nominal', title: null } },
  spec: {
    mark: 'bar',
    encoding: {
      y: { field: 'case', type: 'nominal', title: null },
      yOffset: { field: 'measure' },
      x: { field: 'seconds', type: 'quantitative', title: 'seconds (median of the runs)' },
      color: { field: 'measure', type: 'nominal', title: null },
    },
    width: 520,
  },
  resolve: { scale: { x: 'independent', y: 'independent' } },
};
const files = await writePlot(spec, 'bench/results/retrieval-speed');
console.log(files);

// The benchmark suite: runs each area's benchmark (each writes bench/results/<area>.md), then assembles
// bench/BENCHMARKS.md from those files. Usage:
//   node bench/run.mjs                 every area (long: about an hour on 2 cores)
//   node bench/run.mjs --only hierarchy,retrieval
//   node bench/run.mjs --assemble      only rebuild BENCHMARKS.md from bench/results/*.md
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;

// area -> command (as recorded in each results file); order: cheap first.
const suite = [
  ['hierarchy', 'node bench/hierarchy/run.mjs --runs 3'],
  ['cli-startup', 'node bench/cli/startup.mjs --runs 5 --reference_runs 1'],
  ['datasets', 'node bench/datasets/batching.mjs 3'],
  ['converter', 'node bench/converter/run.mjs 5'],
  ['onnx', 'node bench/onnx/run.mjs 5'],
  ['retrieval', 'bash bench/retrieval/run.sh'],
  ['trainer', 'node bench/trainer/throughput.mjs'],
  // @semembed/benchmark: writes bench/results/benchmark-{fashion,resnet-110-wfc,resnet-50}.md, benchmark-web.md
  ['runtime-node', 'node bench/runtime-node/bench.mjs --models fashion,resnet-110-wfc,resnet-50'],
  ['runtime-web', 'node bench/runtime-web/bench.mjs'],
  ['reliability', 'node bench/reliability/run.mjs --runs 3 --requests 2000'],
  [
    'quantize',
    'node bench/quantize/run.mjs --fashion runs/fashion-mnist/semantic/model.onnx --resnet random --rounds 3',
  ],
];

if (!args.includes('--assemble')) {
  for (const [area, cmd] of suite) {
    if (only && !only.includes(area)) continue;
    console.error(`\n=== bench ${area}: ${cmd}`);
    const r = spawnSync('bash', ['-c', cmd], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    });
    if (r.status !== 0)
      console.error(`bench ${area} failed (exit ${r.status}); its previous results stay in bench/results/${area}.md`);
  }
}

const order = ['summary', ...suite.map(([a]) => a)];
const files = readdirSync(join(root, 'bench', 'results')).filter((f) => f.endsWith('.md'));
files.sort((a, b) => {
  const ia = order.indexOf(a.replace(/(-big)?\.md$/, ''));
  const ib = order.indexOf(b.replace(/(-big)?\.md$/, ''));
  return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
});
let md = '# Benchmarks\n\n';
md += `Assembled by \`node bench/run.mjs\` from \`bench/results/*.md\` (each section names its own command, machine and\n`;
md += `number of runs). Machine of the last assembly: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB.\n`;
md +=
  'The development machine is shared and was heavily loaded while most of these were taken (load average 7–35 on 2 cores):\n';
md += 'absolute times are pessimistic; the ratios against a baseline measured in the same run are the headline.\n\n';
for (const f of files) {
  const text = readFileSync(join(root, 'bench', 'results', f), 'utf8').trim();
  // Each file's top heading level becomes ## and deeper ones keep their relative depth.
  const levels = [...text.matchAll(/^(#+) /gm)].map((m) => m[1].length);
  const shift = levels.length ? 2 - Math.min(...levels) : 0;
  md += `${text.replace(/^(#+) /gm, (_, h) => `${'#'.repeat(Math.max(2, h.length + shift))} `)}\n\n`;
}
writeFileSync(join(root, 'bench', 'BENCHMARKS.md'), md);
console.error(`wrote bench/BENCHMARKS.md (${files.length} sections)`);

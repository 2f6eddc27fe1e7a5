// Class-embedding benchmarks (issue: foundation). Whole CLI runs, median of N, peak RSS, beside the reference's
// timings measured on this machine (from the issue) and a same-run LAPACK baseline (Debian numpy) on the same S.
// Usage: node bench/hierarchy/run.mjs [--runs 3] [--big]   (--big adds unitsphere on 8142 classes)
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
const big = args.includes('--big');
const tmp = mkdtempSync(join(tmpdir(), 'bench-hier-'));

const cases = [
  {
    name: 'ILSVRC mintree, 1000 classes, unitsphere',
    ref: '8 s whole run (solve 5.3–5.7 s)',
    target: '< 1 s',
    argv: ['--hierarchy', 'hierarchies/ILSVRC/wordnet.parent-child.mintree.txt', '--str_ids', '--method', 'unitsphere'],
  },
  {
    name: 'iNat insecta, 2031 classes, unitsphere',
    ref: '62 s',
    target: '< 5 s',
    argv: [
      '--hierarchy',
      'hierarchies/iNaturalist-Hierarchy/hierarchy_inat_insecta.txt',
      '--str_ids',
      '--method',
      'unitsphere',
    ],
  },
  {
    name: 'iNat 2018, 8142 classes, approx_sim --num_dim 32',
    ref: '228 s, 10 GB',
    target: '< 30 s, < 2 GB',
    argv: [
      '--hierarchy',
      'hierarchies/iNaturalist-Hierarchy/hierarchy_inat.txt',
      '--str_ids',
      '--method',
      'approx_sim',
      '--num_dim',
      '32',
    ],
  },
];
if (big) {
  cases.push({
    name: 'iNat 2018, 8142 classes, unitsphere',
    ref: 'hours (O(n⁴))',
    target: '< 180 s, < 2 GB',
    runsOverride: 1,
    argv: [
      '--hierarchy',
      'hierarchies/iNaturalist-Hierarchy/hierarchy_inat.txt',
      '--str_ids',
      '--method',
      'unitsphere',
    ],
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function once(c, i) {
  const out = join(tmp, `out-${i}.json`);
  const r = spawnSync(
    process.execPath,
    [join(import.meta.dirname, 'measure.mjs'), 'compute-class-embedding', ...c.argv, '--out', out],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const m = /@@measure (.*)/.exec(r.stderr);
  if (!m || r.status !== 0) throw new Error(`${c.name} failed: ${r.stderr}`);
  const solve = /in ([0-9.e+-]+) seconds/.exec(r.stdout)?.[1];
  return { ...JSON.parse(m[1]), solve: Number(solve) };
}

// Same-run baseline: numpy (LAPACK via OpenBLAS) on the same similarity matrix, when Debian's numpy is there.
function numpyBaseline(c) {
  if (!existsSync('/usr/bin/python3')) return undefined;
  const npy = join(tmp, 'S.npy');
  const make = spawnSync(
    process.execPath,
    [
      '-e',
      `
    const h = await import(${JSON.stringify(join(root, 'packages/hierarchy/dist/index.js'))});
    const f = await import(${JSON.stringify(join(root, 'packages/formats/dist/index.js'))});
    const a = ${JSON.stringify(c.argv)};
    const H = h.readHierarchy(a[1], { strIds: a.includes('--str_ids') });
    const cls = H.leaves(); const d = H.distanceMatrix(cls);
    for (let i = 0; i < d.length; i++) d[i] = 1 - d[i];
    f.writeNpy(${JSON.stringify(npy)}, { data: d, shape: [cls.length, cls.length] });
  `,
    ],
    {
      cwd: root,
      encoding: 'utf8',
      input: '',
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
    },
  );
  if (make.status !== 0) return undefined;
  const op = c.argv.includes('unitsphere') ? 'numpy.linalg.cholesky(S)' : 'numpy.linalg.eigh(S)';
  const py = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      `
import numpy, time, sys
S = numpy.load(sys.argv[1]); ts = []
for _ in range(${Math.min(runs, 3)}):
    t = time.time(); ${op}; ts.append(time.time() - t)
print(sorted(ts)[len(ts)//2])`,
      npy,
    ],
    { encoding: 'utf8' },
  );
  return py.status === 0 ? { op, seconds: Number(py.stdout.trim()) } : undefined;
}

const rows = [];
for (const c of cases) {
  const n = c.runsOverride ?? runs;
  const res = [];
  for (let i = 0; i < n; i++) {
    res.push(once(c, i));
    process.stderr.write(`${c.name}: run ${i + 1}/${n}: ${res.at(-1).seconds.toFixed(2)} s\n`);
  }
  const base =
    c.argv.includes('approx_sim') && !big
      ? numpyBaseline(c)
      : c.argv.includes('unitsphere') && !c.runsOverride
        ? numpyBaseline(c)
        : undefined;
  rows.push({
    ...c,
    n,
    wall: median(res.map((r) => r.seconds)),
    solve: median(res.map((r) => r.solve)),
    rss: Math.max(...res.map((r) => r.maxRssMB)),
    base,
  });
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const loadAtEnd = loadavg()
  .map((l) => l.toFixed(1))
  .join(' / ');
let md =
  `## Class embeddings (\`semembed compute-class-embedding\`), ${runs} run(s)` +
  `${big ? ' incl. 8142-class unitsphere' : ''}, load average at the end ${loadAtEnd}\n\n`;
md += `Machine: ${machine}. Command: \`node bench/hierarchy/run.mjs --runs ${runs}${big ? ' --big' : ''}\` (${new Date().toISOString().slice(0, 10)}).\n`;
md += `Wall = the whole CLI run in-process (parse, n×n similarities, solve, deviation printout, write), median of the runs.\n\n`;
md +=
  '| case | runs | wall (median) | solve | peak RSS | target | reference (issue, this machine) | numpy/LAPACK same run |\n';
md += '|---|---|---|---|---|---|---|---|\n';
for (const r of rows) {
  const base = r.base ? `${r.base.op}: ${r.base.seconds.toFixed(2)} s` : '–';
  md += `| ${r.name} | ${r.n} | ${r.wall.toFixed(2)} s | ${r.solve.toFixed(2)} s | ${r.rss.toFixed(0)} MB `;
  md += `| ${r.target} | ${r.ref} | ${base} |\n`;
}
console.log(md);
writeFileSync(join(root, 'bench', 'results', `hierarchy${big ? '-big' : ''}.md`), md);

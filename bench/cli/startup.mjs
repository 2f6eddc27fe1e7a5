// Start-up of the semembed CLI (issue #13): whole-process wall and CPU time, median of N runs, beside node's own
// start and, with --reference DIR (a checkout of cvjena/semantic-embeddings), the reference's
// compute_class_embedding.py on the same taxonomy in the same run. Writes bench/results/cli-startup.md.
//   node bench/cli/startup.mjs [--runs 5] [--reference DIR] [--reference_runs N (default: --runs)]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const runs = Number(opt('--runs', '5'));
const reference = opt('--reference', process.env.SEMEMBED_REFERENCE);
const referenceRuns = Number(opt('--reference_runs', String(runs)));
const bin = join(root, 'tools', 'cli', 'bin', 'semembed.js');
const tree = join(root, 'hierarchies', 'ILSVRC', 'wordnet.parent-child.mintree.txt');
const tmp = mkdtempSync(join(tmpdir(), 'cli-startup-'));

/** One whole process under /usr/bin/time: wall and user+sys CPU seconds. */
function timed(cmd, argv, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', cmd, ...argv], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const [wall, user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function measure(label, cmd, argv, env, n = runs) {
  const samples = [];
  let stdout = '';
  for (let i = 0; i < n; i++) {
    const s = timed(cmd, typeof argv === 'function' ? argv(i) : argv, env);
    samples.push(s);
    stdout = s.stdout;
  }
  const row = {
    label,
    n,
    wall: median(samples.map((s) => s.wall)),
    cpu: median(samples.map((s) => s.cpu)),
    min: Math.min(...samples.map((s) => s.wall)),
    stdout,
  };
  console.error(`${label}: wall ${row.wall.toFixed(2)} s (min ${row.min.toFixed(2)}), cpu ${row.cpu.toFixed(2)} s`);
  return row;
}

const load0 = loadavg();
const rows = [];
rows.push({ ...measure('`node -e ""` (Node.js alone)', process.execPath, ['-e', '']), target: '' });
rows.push({ ...measure('`semembed --help`', process.execPath, [bin, '--help']), target: '< 0.3 s' });
rows.push({ ...measure('`semembed --version`', process.execPath, [bin, '--version']), target: '' });
rows.push({
  ...measure('`semembed learn-image-embeddings --help` (the largest builder)', process.execPath, [
    bin,
    'learn-image-embeddings',
    '--help',
  ]),
  target: '',
});
const ours = join(tmp, 'ours.pickle');
const cce = measure(
  '`semembed compute-class-embedding --hierarchy ILSVRC/wordnet.parent-child.mintree.txt --str_ids --out E.pickle` (1000 classes, unitsphere by default)',
  process.execPath,
  [bin, 'compute-class-embedding', '--hierarchy', tree, '--str_ids', '--out', ours, '--force'],
);
rows.push({ ...cce, target: '< 1 s' });

let ref;
let agreement = '';
if (reference && existsSync(join(reference, 'compute_class_embedding.py'))) {
  // class_hierarchy.py imports sklearn.metrics.average_precision_score at the top but compute_class_embedding.py
  // never calls it; where scikit-learn is not installed, a stub module stands in for the import.
  const stub = join(tmp, 'pystub');
  const hasSklearn = spawnSync('python3', ['-c', 'import sklearn'], { encoding: 'utf8' }).status === 0;
  if (!hasSklearn) {
    mkdirSync(join(stub, 'sklearn'), { recursive: true });
    writeFileSync(join(stub, 'sklearn', '__init__.py'), '');
    writeFileSync(
      join(stub, 'sklearn', 'metrics.py'),
      'def average_precision_score(*a, **k):\n    raise NotImplementedError\n',
    );
  }
  const theirs = join(tmp, 'ref.pickle');
  ref = measure(
    'reference `python3 compute_class_embedding.py --hierarchy ... --str_ids --out E.pickle` (same taxonomy, unitsphere default)',
    'python3',
    [join(reference, 'compute_class_embedding.py'), '--hierarchy', tree, '--str_ids', '--out', theirs],
    { PYTHONPATH: hasSklearn ? '' : stub },
    referenceRuns,
  );
  rows.push({ ...ref, target: '' });
  const cmp = spawnSync(
    'python3',
    [
      '-c',
      `
import pickle, numpy as np
a = pickle.load(open(${JSON.stringify(ours)}, 'rb')); b = pickle.load(open(${JSON.stringify(theirs)}, 'rb'))
# String ids: the reference's class order follows Python's set order (hash seed), ours is sorted, so the Cholesky
# factors differ by the order; their Gram matrices (the class similarities), aligned by label, must agree.
perm = [a['label2ind'][l] for l in b['ind2label']]
ea = np.asarray(a['embedding'])[perm]; eb = np.asarray(b['embedding'])
print('%.3g' % np.abs(ea @ ea.T - eb @ eb.T).max())
`,
    ],
    { encoding: 'utf8' },
  );
  agreement = cmp.status === 0 ? cmp.stdout.trim() : `comparison failed: ${cmp.stderr.trim().split('\n').pop()}`;
  ref.note = hasSklearn ? '' : ' (scikit-learn not installed: a stub module answered its unused import)';
}
const load1 = loadavg();
rmSync(tmp, { recursive: true, force: true });

const date = new Date().toISOString().slice(0, 10);
let md = '## CLI start-up (`semembed`), whole processes\n\n';
md += `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}. `;
const referenceFlags = reference
  ? ' --reference <cvjena/semantic-embeddings checkout>' +
    (referenceRuns !== runs ? ` --reference_runs ${referenceRuns}` : '')
  : '';
md += `Command: \`node bench/cli/startup.mjs --runs ${runs}${referenceFlags}\` (${date}). `;
md += `Load average (1/5/15 min) ${load0.map((l) => l.toFixed(1)).join(' / ')} before, ${load1.map((l) => l.toFixed(1)).join(' / ')} after `;
md += `(${cpus().length} cores shared with other work: ${load0[0] > cpus().length ? 'busy' : 'fairly quiet'}).\n`;
md += 'Wall and CPU (user + sys) are of the whole process under `/usr/bin/time`, from exec to exit.\n\n';
md += '| command | runs | wall (median) | wall (min) | CPU (median) | target |\n|---|---|---|---|---|---|\n';
for (const r of rows)
  md += `| ${r.label}${r.note ?? ''} | ${r.n} | ${r.wall.toFixed(2)} s | ${r.min.toFixed(2)} s | ${r.cpu.toFixed(2)} s | ${r.target} |\n`;
md += '\n';
if (ref) {
  md += `The reference took ${(ref.wall / cce.wall).toFixed(1)}× our wall time on the same 1000 classes in the same run; `;
  md += `largest difference between the class similarities of the two embeddings (E·Eᵀ, rows aligned by label): ${agreement}.\n`;
} else {
  md +=
    'The reference was not run (give `--reference DIR`, a checkout of cvjena/semantic-embeddings, with python3, numpy and scipy).\n';
}
const [node, help] = rows;
md += `\nOn a busy machine wall time is mostly waiting for a core: Node.js alone took ${node.wall.toFixed(2)} s wall for `;
md += `${node.cpu.toFixed(2)} s of CPU here. The CPU column is what each command itself costs: \`--help\` is Node.js + `;
md += `${(help.cpu - node.cpu).toFixed(2)} s (yargs and the command definitions). The wall targets are for an idle machine.\n`;
md +=
  '\nEach command loads only its own packages (builders import nothing heavy; handlers `import()` theirs), so `--help`\n';
md +=
  'and a rejected typo cost Node.js plus yargs; compute-class-embedding adds @semembed/hierarchy (pure TypeScript).\n';
writeFileSync(join(root, 'bench', 'results', 'cli-startup.md'), md);
console.error('wrote bench/results/cli-startup.md');

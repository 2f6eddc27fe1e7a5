// ResNet-50 .h5 -> ONNX: wall time and peak RSS over several fresh processes, beside a read-only baseline
// (h5wasm reading every weight: the floor any converter in this stack pays) and h5py reading the same file.
// Usage (after `npm run build`): node bench/converter/run.mjs [runs=5]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = join(here, '..', 'results', 'tmp');
mkdirSync(tmp, { recursive: true });
const h5 = join(tmp, 'resnet50-random.h5');
if (!existsSync(h5)) execFileSync(process.execPath, [join(here, 'make-resnet50.mjs'), h5], { stdio: 'inherit' });
const runs = Number(process.argv[2] ?? 5);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const results = {};
for (const mode of ['read', 'convert', 'convert-fp16']) {
  const rs = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(
      process.execPath,
      [join(here, 'convert-once.mjs'), mode, h5, join(tmp, `resnet50-${mode}.onnx`)],
      { encoding: 'utf8' },
    );
    rs.push(JSON.parse(out.trim().split('\n').pop()));
  }
  results[mode] = {
    wallMs: rs.map((r) => r.wallMs),
    cpuMs: rs.map((r) => r.cpuMs),
    maxRssMB: rs.map((r) => r.maxRssMB),
  };
}
const py = [];
for (let i = 0; i < runs; i++) {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      `
import h5py, time, resource
t=time.perf_counter(); c=time.process_time()
f=h5py.File(${JSON.stringify(h5)},'r'); n=0
def visit(name, o):
    global n
    if isinstance(o, h5py.Dataset): n += o[()].size
f.visititems(visit)
print(int((time.perf_counter()-t)*1000), int((time.process_time()-c)*1000), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss//1024, n)
`,
    ],
    { encoding: 'utf8' },
  );
  const [ms, cpu, mb, n] = out.trim().split(/\s+/).map(Number);
  py.push({ ms, cpu, mb, n });
}
results['h5py-read'] = { wallMs: py.map((p) => p.ms), cpuMs: py.map((p) => p.cpu), maxRssMB: py.map((p) => p.mb) };
console.log(`file: ${h5} (${(statSync(h5).size / 1e6).toFixed(1)} MB, ${py[0].n} parameters)`);
const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`load average after the runs: ${load} (${(await import('node:os')).cpus().length} cores)`);
console.log(
  '| step | median wall (ms) | wall runs (ms) | median CPU user+sys (ms) | CPU runs (ms) | median peak RSS (MB) |',
);
console.log('|---|---:|---|---:|---|---:|');
for (const [k, v] of Object.entries(results)) {
  console.log(
    `| ${k} | ${median(v.wallMs)} | ${v.wallMs.join(', ')} | ${median(v.cpuMs)} | ${v.cpuMs.join(', ')} | ${median(v.maxRssMB)} |`,
  );
}
for (const m of ['convert', 'convert-fp16'])
  console.log(`${m}: ${(statSync(join(tmp, `resnet50-${m}.onnx`)).size / 1e6).toFixed(1)} MB`);

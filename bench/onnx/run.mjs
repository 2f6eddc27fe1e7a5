// @semembed/onnx read/write speed on a ResNet-50-sized model (100 MB of float weights in 54 Conv/Gemm nodes),
// beside the onnx Python package (C++ protobuf) parsing and serialising the same bytes in the same run, plus
// inferShapes / modelCost. Usage: node bench/onnx/run.mjs [runs] ; writes bench/results/onnx.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  DataType,
  inferShapes,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  modelCost,
  readModel,
  writeModel,
  writeModelChunks,
} from '@semembed/onnx';

const runs = Number(process.argv[2] ?? 5);
const root = join(import.meta.dirname, '..', '..');
const tmp = join(root, 'bench', 'results', 'tmp');
mkdirSync(tmp, { recursive: true });
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

// A chain of 3x3 convolutions (64 -> 512 channels, like ResNet-50's stages) and a 2048x1000 Gemm: 26M weights.
function buildModel() {
  const nodes = [];
  const inits = [];
  let x = 'x';
  let c = 3;
  let seed = 1;
  const rand = (n) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    return a;
  };
  const widths = [...Array(13).fill(128), ...Array(13).fill(256), ...Array(13).fill(256), ...Array(14).fill(320)];
  widths.forEach((m, i) => {
    inits.push(makeTensor(`w${i}`, DataType.FLOAT, [m, c, 3, 3], rand(m * c * 9)));
    inits.push(makeTensor(`b${i}`, DataType.FLOAT, [m], rand(m)));
    const attributes = { pads: [1, 1, 1, 1] };
    nodes.push(makeNode('Conv', [x, `w${i}`, `b${i}`], [`c${i}`], { name: `conv${i}`, attributes }));
    nodes.push(makeNode('Relu', [`c${i}`], [`r${i}`], { name: `relu${i}` }));
    x = `r${i}`;
    c = m;
  });
  nodes.push(makeNode('GlobalAveragePool', [x], ['gap'], { name: 'gap' }));
  nodes.push(makeNode('Flatten', ['gap'], ['flat'], { name: 'flat' }));
  inits.push(makeTensor('fc', DataType.FLOAT, [c, 2048], rand(c * 2048)));
  inits.push(makeTensor('fc2', DataType.FLOAT, [2048, 1000], rand(2048 * 1000)));
  nodes.push(makeNode('Gemm', ['flat', 'fc'], ['h'], { name: 'fc' }));
  nodes.push(makeNode('Gemm', ['h', 'fc2'], ['y'], { name: 'fc2' }));
  const graph = makeGraph({
    name: 'bench',
    nodes,
    initializers: inits,
    inputs: [makeValueInfo('x', DataType.FLOAT, ['N', 3, 56, 56])],
    outputs: [makeValueInfo('y', DataType.FLOAT, ['N', 1000])],
  });
  return makeModel({ graph, opset: 17, producerName: 'bench' });
}

function time(fn) {
  const ms = [];
  let out;
  fn(); // warm-up
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    out = fn();
    ms.push(performance.now() - t);
  }
  return { ms, out };
}

const before = loadavg();
const model = buildModel();
const bytes = writeModel(model);
const file = join(tmp, 'onnx-bench.onnx');
writeFileSync(file, bytes);
const params = model.graph.initializer.reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
const rows = [];
const w = time(() => writeModel(model));
rows.push(['writeModel (ours, protobufjs 8.8.1; one Uint8Array)', w.ms]);
rows.push([
  'writeModelChunks (ours; large tensors passed through, as the converter writes files)',
  time(() => writeModelChunks(model)).ms,
]);
const r = time(() => readModel(bytes));
rows.push(['readModel (ours)', r.ms]);
rows.push(['inferShapes (ours)', time(() => inferShapes(model)).ms]);
const cost = time(() => modelCost(model, { x: [1, 3, 56, 56] }));
rows.push(['modelCost (ours)', cost.ms]);
const py = JSON.parse(
  execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      `
import onnx, time, json, sys
data = open(sys.argv[1], 'rb').read(); runs = int(sys.argv[2])
def t(f):
    f(); out = []
    for _ in range(runs):
        s = time.perf_counter(); f(); out.append((time.perf_counter() - s) * 1000)
    return out
m = onnx.load_model_from_string(data)
print(json.dumps({'parse': t(lambda: onnx.load_model_from_string(data)), 'serialize': t(lambda: m.SerializeToString()),
  'same': m.SerializeToString() == data, 'version': onnx.__version__}))`,
      file,
      String(runs),
    ],
    { encoding: 'utf8' },
  ),
);
rows.push([`onnx ${py.version} load_model_from_string (C++ protobuf, baseline)`, py.parse]);
rows.push([`onnx ${py.version} SerializeToString (baseline)`, py.serialize]);
const after = loadavg();

const fmt = (a) => a.map((x) => x.toFixed(0)).join(', ');
let md = `## ONNX files: read, write, shapes, cost (\`@semembed/onnx\`)\n\n`;
md += `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, `;
md += `Node ${process.version}. `;
md += `Command: \`node bench/onnx/run.mjs ${runs}\` (${new Date().toISOString().slice(0, 10)}). `;
md += `Load average (1/5/15 min) ${before.map((x) => x.toFixed(1)).join(' / ')} before, `;
md += `${after.map((x) => x.toFixed(1)).join(' / ')} after (2 cores shared with other work: busy; wall times are `;
md += 'pessimistic).\n\n';
md += `Model: a chain of 53 3x3 Conv + Relu and two Gemm, ${(params / 1e6).toFixed(1)}M float weights, `;
md += `${(bytes.length / 1e6).toFixed(1)} MB (written with writeModel). ${runs} runs after one warm-up, `;
md += 'in one process each ';
md += '(ours in Node, the baseline in /usr/bin/python3). The onnx package serialises the parsed model to the same ';
md += 'bytes: ';
md += `${py.same ? 'yes' : 'NO'}.\n\n`;
md += '| step | median (ms) | runs (ms) |\n|---|---:|---|\n';
for (const [name, ms] of rows) md += `| ${name} | ${median(ms).toFixed(0)} | ${fmt(ms)} |\n`;
md += '\nwriteModel is writeModelChunks plus one contiguous copy of the file: its time is allocating and first\n';
md += 'touching a fresh buffer of the whole model (page faults, slow on this loaded VM); SerializeToString pays\n';
md += 'the same.\n';
const gflops = (cost.out.flops / 1e9).toFixed(2);
md += `\nmodelCost: ${gflops} GFLOPs at batch 1, ${(cost.out.bytes / 1e6).toFixed(0)} MB moved.\n`;
writeFileSync(join(root, 'bench', 'results', 'onnx.md'), md);
console.log(md);

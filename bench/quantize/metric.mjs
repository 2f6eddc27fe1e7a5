// mAHP@250, balanced accuracy and max |Δ| embedding of int8 forms of a trained Fashion-MNIST model (onnxruntime-node
// on this CPU), beside its fp32 model. Usage: node bench/quantize/metric.mjs MODEL.onnx [--eval_size 1000]
// Variants: web / cpu form, 7-bit (reduceRange, default) / 8-bit weights. Prints a Markdown table.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readHierarchy } from '@semembed/hierarchy';
import { datasetSamples, evaluateCandidates, quantizeModel } from '@semembed/quantize';

const [model] = process.argv.slice(2);
const arg = (k, d) => (process.argv.includes(`--${k}`) ? process.argv[process.argv.indexOf(`--${k}`) + 1] : d);
const sidecar = model.replace(/\.onnx$/, '.json');
const sc = JSON.parse(readFileSync(sidecar, 'utf8'));
const calib = await datasetSamples('FashionMNIST', undefined, sidecar, 'train', 256);
const slice = await datasetSamples('FashionMNIST', undefined, sidecar, 'test', Number(arg('eval_size', 1000)));
const fp32 = readFileSync(model);
const VARIANTS = {
  'int8-web (7-bit weights, default)': { target: 'web' },
  'int8-web 8-bit': { target: 'web', reduceRange: false },
  'int8-cpu (7-bit)': { target: 'cpu' },
  'int8-cpu 8-bit': { target: 'cpu', reduceRange: false },
};
const candidates = [{ name: 'fp32', bytes: new Uint8Array(fp32) }];
for (const [name, o] of Object.entries(VARIANTS)) {
  candidates.push({ name, bytes: (await quantizeModel(fp32, { mode: 'int8', calibration: [calib], ...o })).bytes });
}
const hier = readHierarchy(join(import.meta.dirname, '../../hierarchies/fashion-mnist/fashion-mnist.parent-child.txt'));
const res = await evaluateCandidates(
  candidates,
  { ...slice, hierarchy: hier },
  {
    embeddingOutput: sc.outputs.find((o) => o.kind === 'embedding').name,
    probOutput: sc.outputs.find((o) => o.kind === 'probabilities').name,
    latencyRuns: 1,
  },
);
let md = `| variant | mAHP@250 | balanced accuracy | max abs Δ embedding |\n|---|---:|---:|---:|\n`;
for (const r of res)
  md += `| ${r.name} | ${r.mahp.toFixed(4)} | ${(r.accuracy * 100).toFixed(2)}% | ${r.maxAbsDelta.toFixed(4)} |\n`;
console.log(`${md}\n${slice.n} test images; onnxruntime-node on this CPU.`);

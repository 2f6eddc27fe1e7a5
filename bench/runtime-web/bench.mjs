// In-browser latency and throughput of onnxruntime-web in Debian Chromium (wasm 1 thread, wasm all cores in a
// cross-origin isolated page, WebGPU), beside onnxruntime-node's CPU provider in the same run, with the outputs
// compared: a call of @semembed/benchmark. Writes bench/results/benchmark-web.md (+ benchmark-plots/web/).
//   node bench/runtime-web/bench.mjs [--model M.onnx|M.h5] [--quick]
// Default model: the Fashion-MNIST architecture with a 100-d embedding and random weights (make-model.mjs).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS, arg, benchSection, writeResults } from '../runtime-node/suite.mjs';
import { makeModel } from './make-model.mjs';

if (!process.env.VK_ICD_FILENAMES && existsSync('/usr/lib/chromium/vk_swiftshader_icd.json')) {
  // Chromium's WebGPU has no adapter on a GPU-less machine otherwise.
  process.env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
}
const QUICK = process.argv.includes('--quick');
let model = arg('model');
if (!model) {
  const dir = join(RESULTS, 'tmp/runtime-web/model');
  if (!existsSync(join(dir, 'fashion-cnn.h5'))) await makeModel(dir, 'fashion-cnn', 100);
  model = join(dir, 'fashion-cnn.h5');
}
const section = await benchSection(
  'web',
  `onnxruntime-web in Chromium vs onnxruntime-node (${model.split('/').pop()})`,
  'fashion-cnn with a 100-d embedding and random weights (`bench/runtime-web/make-model.mjs`) unless `--model` says otherwise. ' +
    'Browser timings are taken inside the page (performance.now around session.run); WebGPU runs on SwiftShader here (an emulator).',
  {
    model,
    runtimes: ['ort-node-cpu', 'chromium-wasm-1', 'chromium-wasm', 'chromium-webgpu', 'tfjs-wasm'],
    batches: [1, 32],
    quick: QUICK,
    limits: QUICK ? {} : { serverLevels: 5 },
  },
);
writeResults('benchmark-web.md', '# `semembed benchmark` in the browser', [section]);

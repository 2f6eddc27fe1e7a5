// One latency measurement of onnxruntime-web's wasm build in Node, in its own process so one variant's wasm heap
// never shapes the next one's timing. Usage: node ort-web.mjs MODEL.onnx H,W,C BATCH ITERS [THREADS] [OPTIONS_JSON]
// -> JSON line. THREADS: ort.env.wasm.numThreads (default 1); OPTIONS_JSON: extra InferenceSession options, merged
// over { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }.
import * as ort from 'onnxruntime-web';

const [file, shapeArg, batchArg, itersArg, threadsArg = '1', optionsArg = '{}'] = process.argv.slice(2);
const shape = shapeArg.split(',').map(Number);
const batch = Number(batchArg);
ort.env.wasm.numThreads = Number(threadsArg);
ort.env.logLevel = 'error';
const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all', ...JSON.parse(optionsArg) };
const s = await ort.InferenceSession.create(file, options);
const x = new Float32Array(batch * shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i) * 2);
const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', x, [batch, ...shape]) };
for (let i = 0; i < 3; i++) await s.run(feeds);
const ms = [];
for (let i = 0; i < Number(itersArg); i++) {
  const t0 = performance.now();
  await s.run(feeds);
  ms.push(performance.now() - t0);
}
ms.sort((a, b) => a - b);
console.log(JSON.stringify({ median: ms[ms.length >> 1], p10: ms[Math.floor(ms.length / 10)], min: ms[0] }));
// Worker threads (numThreads > 1) would keep the process alive.
process.exit(0);

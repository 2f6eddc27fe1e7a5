// Per-kernel time of training steps on the wasm backend (wraps every registered wasm kernel with a timer).
import { selectBackend, fit, KerasSGD, makeSchedule } from '@semembed/trainer';
import { buildArchitecture, modelFromKerasConfig } from '@semembed/architectures';
const arch = process.argv[2] ?? 'simple';
const SH = { simple: [32, 32, 3], 'fashion-cnn': [28, 28, 1] }[arch];
const { tf } = await selectBackend('wasm');
const times = new Map();
let depth = 0;
for (const k of tf.getKernelsForBackend('wasm')) {
  const f = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({ ...k, kernelFunc: (a) => {
    depth++;
    const t = performance.now();
    try { return f(a); } finally { depth--; if (depth === 0) { const e = times.get(k.kernelName) ?? [0, 0]; e[0] += performance.now() - t; e[1]++; times.set(k.kernelName, e); } }
  } });
}
const cfg = buildArchitecture(arch, { inputShape: SH, embeddingDim: 10, numClasses: 10, loss: 'inv_corr' });
const model = await modelFromKerasConfig(tf, cfg);
const emb = new Float32Array(100); for (let i = 0; i < 10; i++) emb[i * 11] = 1;
const n = 100 * 3, size = SH[0] * SH[1] * SH[2];
const x = Float32Array.from({ length: n * size }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
const train = { size: n, inputShape: SH, labels, batches: function* (o) { for (let b = 0; b * o.batchSize < n; b++) yield { x: x.subarray(b * o.batchSize * size, (b + 1) * o.batchSize * size), labels: labels.subarray(b * o.batchSize, (b + 1) * o.batchSize), size: o.batchSize }; } };
const opt = new KerasSGD(tf, 0.01, { momentum: 0.9, nesterov: false, clipnorm: 10, decay: 0 });
const common = { tf, model, loss: 'inv_corr', embedding: emb, embRows: 10, embDim: 10, clsWeight: 0, numClasses: 10, batchSize: 100, valBatchSize: 100, optimizer: opt, seed: 0, augment: false, epochs: 1, train, schedule: makeSchedule('SGD', { sgdSchedule: '1:0.01,1' }, 3) };
await fit(common);
times.clear();
const t0 = performance.now();
await fit(common);
const tot = performance.now() - t0;
const rows = [...times].sort((a, b) => b[1][0] - a[1][0]);
console.log(`total ${tot.toFixed(0)} ms for 3 steps; kernels ${rows.reduce((s, r) => s + r[1][0], 0).toFixed(0)} ms`);
for (const [k, [t, c]] of rows.slice(0, 25)) console.log(k.padEnd(28), t.toFixed(0).padStart(7), 'ms', String(c).padStart(5));

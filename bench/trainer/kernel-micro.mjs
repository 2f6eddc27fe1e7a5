// The native addon's kernels alone at fashion-cnn's shapes (batch 100): min and median ms of --reps calls each, at
// every --threads count (the addon's own kernel threads, native/parallel.h). --addon FILE measures another build
// (e.g. an older commit's semembed_conv.node, which has no kernel threads: one column then) beside this one.
// Usage: node bench/trainer/kernel-micro.mjs [--threads 1,2] [--reps 30] [--batch 100] [--addon FILE]
import { createRequire } from 'node:module';
import os from 'node:os';
import { nativeConvPath } from '@semembed/trainer';
import { randomFloats as rnd } from './setup.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const reps = Number(arg('reps', 30));
const N = Number(arg('batch', 100));
const file = arg('addon', nativeConvPath());
const addon = createRequire(import.meta.url)(file);
addon.setThreads(1);
const threads = addon.setNativeThreads ? arg('threads', '1,2').split(',').map(Number) : [1];

const f32 = (a) => new Float32Array(a);
const [x1, w1, dy1] = [rnd(N * 784, 1), rnd(144, 2), rnd(N * 784 * 16, 3)];
const [x2, w2, dy2] = [rnd(N * 196 * 16, 4), rnd(9 * 16 * 32, 5), rnd(N * 196 * 32, 6)];
const g1 = f32([N, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1, 28, 28]);
const g2 = f32([N, 14, 14, 16, 32, 3, 3, 1, 1, 1, 1, 14, 14]);
const [a1, pd1, p1] = [rnd(N * 784 * 16, 7), rnd(N * 196 * 16, 8), f32([N, 28, 28, 16, 14, 14, 2, 2, 2, 2, 0, 0])];
const [a2, pd2, p2] = [rnd(N * 196 * 32, 9), rnd(N * 49 * 32, 10), f32([N, 14, 14, 32, 7, 7, 2, 2, 2, 2, 0, 0])];
const out = new Float32Array(N * 784 * 16);
const out2 = new Float32Array(N * 784 * 16);
const v16 = () => rnd(16, 11);
const [gm, bt, mean, vari, zero, dg, db] = [
  v16(),
  v16(),
  new Float32Array(16),
  new Float32Array(16),
  new Float32Array(16),
];
const [dgm, dbt] = [new Float32Array(16), new Float32Array(16)];
const fc = [rnd(N * 1568, 12), rnd(1568 * 128, 13), new Float32Array(N * 128)];
const kernels = {
  'conv1 forward (28x28x1 -> 16)': () => addon.conv(0, x1, w1, out, g1),
  'conv1 filter gradient': () => addon.conv(1, x1, dy1, out.subarray(0, 144), g1),
  'conv2 forward (14x14x16 -> 32)': () => addon.conv(0, x2, w2, out.subarray(0, N * 196 * 32), g2),
  'conv2 filter gradient': () => addon.conv(1, x2, dy2, out.subarray(0, 4608), g2),
  'conv2 input gradient': () => addon.conv(2, dy2, w2, out.subarray(0, N * 196 * 16), g2),
  'max-pool gradient 28x28x16': () => addon.maxPoolGrad(a1, pd1, out, p1),
  'max-pool gradient 14x14x32': () => addon.maxPoolGrad(a2, pd2, out.subarray(0, a2.length), p2),
  'max-pool forward 28x28x16': addon.maxPool && (() => addon.maxPool(a1, out.subarray(0, pd1.length), p1)),
  'BN forward 28x28x16': () => addon.bnForward(a1, gm, bt, out, mean, vari, 1e-3),
  'BN backward 28x28x16': () => addon.bnBackward(a1, a1, gm, mean, vari, zero, zero, out, dgm, dbt, 1e-3),
  'relu 28x28x16': addon.relu && (() => addon.relu(a1, out)),
  'relu gradient 28x28x16': () => addon.reluGrad(a1, a1, out2),
  'dense 1568 -> 128 (sgemm)': () => addon.matmul(fc[0], fc[1], fc[2], f32([1, 1, N, 1568, 128, 0])),
};
void dg;
void db;
const time = (fn) => {
  for (let i = 0; i < 3; i++) fn();
  const ts = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  ts.sort((p, q) => p - q);
  return [ts[0], ts[ts.length >> 1]];
};
const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
console.log(`addon ${file}; batch ${N}; ${reps} calls each; load average at start ${load()}`);
console.log(`| kernel | ${threads.map((t) => `${t} thread${t > 1 ? 's' : ''}: min / median ms`).join(' | ')} |`);
console.log(`|---|${threads.map(() => '---').join('|')}|`);
for (const [name, fn] of Object.entries(kernels)) {
  if (!fn) continue;
  const cells = threads.map((t) => {
    addon.setNativeThreads?.(t);
    const [min, med] = time(fn);
    return `${min.toFixed(2)} / ${med.toFixed(2)}`;
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
console.log(`load average at end ${load()}`);

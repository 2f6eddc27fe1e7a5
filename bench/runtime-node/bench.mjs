// Runtime benchmark: images/s of a raw ONNX Runtime session (CPU EP) at batch 1/8/32/128 vs TF.js
// (wasm and cpu backends) running the same weights; then `semembed serve` throughput with dynamic
// batching at concurrency 64 (autocannon in a separate process, loopback only, time-bounded) against
// the raw session. Usage (after `npm run build`):
//   node bench/runtime-node/bench.mjs [--models fashion-cnn,resnet-110-wfc] [--runs 3] [--secs 1.5] [--server_secs 10]
// Prints a markdown report on stdout (bench/results/runtime-node.md was written from it).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@semembed/trainer';
import { createServer, loadModel } from '@semembed/runtime-node';
import { OUT, SPECS, buildTfModel, prepare } from './prepare.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const MODELS = arg('models', 'fashion-cnn,resnet-110-wfc').split(',');
const RUNS = Number(arg('runs', 3));
const SECS = Number(arg('secs', 1.5));
const SERVER_SECS = Number(arg('server_secs', 10));
const BATCHES = [1, 8, 32, 128];
// TF.js cpu is ~100x slower; bounded separately so the bench ends in minutes.
const CPU_SECS = Number(arg('cpu_secs', 3));
// TF.js cpu batches expected to take longer than this per call are skipped (resnet-110-wfc: minutes).
const MAX_CALL_SECS = Number(arg('max_call_secs', 20));
// Only the server-vs-raw part (the per-batch tables take minutes with TF.js).
const SERVER_ONLY = process.argv.includes('--server_only');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** Repeats `fn` (one batch of `batch` images) for ~secs, `runs` times; images/s per run. */
async function measure(fn, batch, { runs = RUNS, secs = SECS, minIters = 2 } = {}) {
  await fn(); // warm-up
  const rates = [];
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const t0 = performance.now();
    while (n < minIters || performance.now() - t0 < secs * 1000) {
      await fn();
      n++;
    }
    rates.push((n * batch) / ((performance.now() - t0) / 1000));
  }
  return { median: median(rates), rates };
}

function autocannonChild(opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'load-client.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load client exited ${code}`))));
    child.stdin.end(JSON.stringify(opts));
  });
}

/** Batch-size histogram sum or count in `after` minus `before` (Prometheus text). */
function batchStat(after, which, before) {
  const get = (text) => Number(new RegExp(`semembed_batch_size_${which}\\{model="[^"]+"\\} ([\\d.]+)`).exec(text)?.[1] ?? 0);
  return get(after) - get(before);
}

const lines = [];
const say = (s = '') => {
  lines.push(s);
  console.error(s);
};

say(`Machine: ${cpus().length} x ${cpus()[0].model}, Node ${process.version}; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' / ')} ` +
  '(shared with other agents: numbers are noisy, medians of runs).');
say(`Command: node bench/runtime-node/bench.mjs ${process.argv.slice(2).join(' ')}`);
say();

for (const name of MODELS) {
  const onnx = join(OUT, `${name}.onnx`);
  if (!existsSync(onnx)) await prepare(name);
  const spec = SPECS[name];
  const sample = spec.inputShape.reduce((a, b) => a * b, 1);
  say(`## ${name} (random weights, converted by @semembed/converter; input ${spec.inputShape.join('x')})`);
  say();
  // Same weights in TF.js: taken from the h5 the ONNX model was converted from.
  const { readKerasH5 } = await import('@semembed/trainer');
  const { loadWeightsByKerasName } = await import('@semembed/architectures');
  const h5 = await readKerasH5(join(OUT, `${name}.h5`));
  const byName = new Map(h5.layers.flatMap((l) => l.weights.map((w) => [w.name, w])));

  const ortModel = await loadModel(onnx, { ep: 'cpu' });
  const results = { ort: {}, wasm: {}, cpu: {} };
  const inputs = Object.fromEntries(BATCHES.map((b) => [b, Float32Array.from({ length: b * sample }, (_, i) => Math.sin(i * 0.37))]));
  if (!SERVER_ONLY) {
  for (const b of BATCHES) results.ort[b] = await measure(() => ortModel.run(inputs[b], b), b);

  let check = '';
  for (const backend of ['wasm', 'cpu']) {
    await selectBackend(backend);
    const { model } = await buildTfModel(tf, name);
    loadWeightsByKerasName(tf, model, (n) => byName.get(n), { source: `${name}.h5` });
    // The outputs must agree with ORT, or the comparison would be meaningless.
    const x1 = tf.tensor(inputs[8], [8, ...spec.inputShape]);
    const [e] = model.predict(x1);
    const ref = await ortModel.run(inputs[8], 8);
    const d = e.dataSync().reduce((m, v, i) => Math.max(m, Math.abs(v - ref[ortModel.embeddingOutput.name].data[i])), 0);
    check += ` ${backend} max |TF.js - ORT| = ${d.toExponential(1)};`;
    tf.dispose([x1, e]);
    let perImage = 0; // seconds per image at the last batch size, to skip batches that would take minutes
    for (const b of BATCHES) {
      if (backend === 'cpu' && perImage * b > MAX_CALL_SECS) {
        results[backend][b] = { median: NaN, skipped: `skipped: ~${(perImage * b).toFixed(0)} s per batch` };
        continue;
      }
      const x = tf.tensor(inputs[b], [b, ...spec.inputShape]);
      const opts = backend === 'cpu' ? { runs: 1, secs: CPU_SECS, minIters: 1 } : {};
      results[backend][b] = await measure(async () => {
        const out = model.predict(x);
        await Promise.all(out.map((t) => t.data()));
        tf.dispose(out);
      }, b, opts);
      perImage = 1 / results[backend][b].median;
      x.dispose();
    }
    model.dispose();
  }
  say(`Images/s, median of ${RUNS} runs of ~${SECS} s each (TF.js cpu: one run of ~${CPU_SECS} s). Check:${check}`);
  say();
  say('| batch | ORT CPU EP | TF.js wasm | TF.js cpu | ORT / wasm |');
  say('|---:|---:|---:|---:|---:|');
  for (const b of BATCHES) {
    const cpu = results.cpu[b].skipped ?? fmt(results.cpu[b].median);
    say(`| ${b} | ${fmt(results.ort[b].median)} | ${fmt(results.wasm[b].median)} | ${cpu} | ${(results.ort[b].median / results.wasm[b].median).toFixed(1)}x |`);
  }
  say();
  }

  // Server vs raw session at concurrency 64.
  const rows = [];
  let ceiling;
  for (const maxBatch of [32, 64]) {
    const xb = inputs[maxBatch] ?? Float32Array.from({ length: maxBatch * sample }, (_, i) => Math.sin(i * 0.37));
    // The raw session is measured before and after the server runs (load on this machine drifts); their mean.
    const rawBefore = await measure(() => ortModel.run(xb, maxBatch), maxBatch);
    // The server loads its own copy of the model, in a worker thread (its default).
    const server = await createServer({ models: [{ path: onnx, name }], ep: 'cpu', port: 0, maxBatchSize: maxBatch, maxQueueDelayMs: 2, logger: 'error' });
    const url = await server.listen();
    const tensorBody = JSON.stringify({ inputs: [{ name: ortModel.inputName, shape: [1, ...ortModel.sampleShape], datatype: 'FP32', data: Array.from(inputs[1]) }] });
    const img = readFileSync(join(import.meta.dirname, '..', '..', 'packages', 'runtime-node', 'test', 'fixtures', spec.inputShape[2] === 1 ? 'gray28.png' : 'rgb32.png'));
    // Open Inference Protocol binary tensor extension: JSON header + raw FP32 bytes.
    const binHeader = Buffer.from(JSON.stringify({ inputs: [{ name: ortModel.inputName, shape: [1, ...ortModel.sampleShape], datatype: 'FP32', parameters: { binary_data_size: sample * 4 } }] }));
    const binBody = Buffer.concat([binHeader, Buffer.from(inputs[1].buffer, 0, sample * 4)]);
    for (const [route, body, type, label, headers] of [
      [`/v2/models/${name}/infer`, tensorBody, 'application/json', 'v2 infer, JSON tensor'],
      [`/v2/models/${name}/infer`, binBody.toString('base64'), 'application/octet-stream', 'v2 infer, binary tensor', { 'inference-header-content-length': String(binHeader.length) }],
      ['/v1/embed', img.toString('base64'), 'image/png', 'v1 embed, PNG'],
    ]) {
      const before = await (await fetch(url + '/metrics')).text();
      const r = await autocannonChild({ url: url + route, body, bodyBase64: type !== 'application/json', type, headers, connections: 64, duration: SERVER_SECS });
      const after = await (await fetch(url + '/metrics')).text();
      rows.push({ maxBatch, route: label, ...r, meanBatch: batchStat(after, 'sum', before) / batchStat(after, 'count', before) });
    }
    const rawAfter = await measure(() => ortModel.run(xb, maxBatch), maxBatch);
    for (const row of rows) if (row.maxBatch === maxBatch) row.raw = (rawBefore.median + rawAfter.median) / 2;
    if (maxBatch === 32) {
      // The HTTP ceiling of this machine right now: a route that does no work at all.
      const r = await autocannonChild({ url: url + '/v2/health/live', method: 'GET', connections: 64, duration: Math.min(5, SERVER_SECS) });
      ceiling = r;
    }
    await server.close();
  }
  await ortModel.release();
  say(`Server (\`createServer\`, session in a worker thread, max_queue_delay_ms 2) at concurrency 64, one image per request, autocannon in a separate process for ${SERVER_SECS} s, vs the raw session at the server's max batch size (mean of its medians just before and after the server runs):`);
  say();
  say('| max_batch_size | route | server img/s | raw session img/s | server / raw | p50 ms | p99 ms | non-2xx | errors | mean batch |');
  say('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    say(`| ${r.maxBatch} | ${r.route} | ${fmt(r.rps)} | ${fmt(r.raw)} | ${((100 * r.rps) / r.raw).toFixed(0)}% | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${r.meanBatch.toFixed(1)} |`);
  }
  say();
  say(`HTTP ceiling at the same time (GET /v2/health/live, no work, c=64): ${fmt(ceiling.rps)} req/s, p50 ${ceiling.p50} ms, p99 ${ceiling.p99} ms.`);
  say();
}
say(`Load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' / ')}`);
console.log(lines.join('\n'));

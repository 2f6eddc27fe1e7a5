// Reliability under load and faults: `semembed serve` (a child process) gets valid requests mixed with corrupt,
// oversized, malformed-multipart, multipart-over-the-limit (streamed, 64 MB offered against 16 MB), unknown-model
// and wrong-method requests while slow-header clients trickle bytes; then SIGTERM with requests in flight and slow
// clients still connected. Records statuses (5xx must be 0), the server's RSS before / after, and how long
// shutdown took. Loopback only, every loop bounded. Usage: node bench/reliability/run.mjs [--runs 3] [--requests 2000]
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fixturePath, slowHeaders } from '@semembed/test-fixtures';

const root = join(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const arg = (name, def) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const RUNS = arg('--runs', 3);
const REQUESTS = arg('--requests', 2000);
const CONCURRENCY = 32;
const FIX = fixturePath('models'); // the runtime tests' tiny models (@semembed/test-fixtures)
const png = readFileSync(join(FIX, 'gray28.png'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

function startServer() {
  const child = spawn(
    process.execPath,
    [
      join(root, 'tools', 'cli', 'bin', 'semembed.js'),
      'serve',
      '--model',
      join(FIX, 'fashion-tiny.onnx'),
      '--port',
      '0',
      '--ep',
      'cpu',
      '--log_level',
      'error',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/[^ ]+)/.exec(err);
      if (m) resolve({ child, url: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

/** A streamed multipart upload without content-length: `mb` MB offered; resolves with the status (or 'reset'). */
function bigMultipart(url, mb) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: '/v1/embed',
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=B', 'transfer-encoding': 'chunked' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve('reset'));
    const piece = Buffer.alloc(256 * 1024, 7);
    let sent = 0;
    req.write('--B\r\ncontent-disposition: form-data; name="a"; filename="a.png"\r\n\r\n');
    const pump = () => {
      while (sent < mb * 4) {
        sent++;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end('\r\n--B--\r\n');
    };
    pump();
  });
}

const KINDS = {
  png: [200, (u) => fetch(u + '/v1/embed', { method: 'POST', body: png, headers: { 'content-type': 'image/png' } })],
  classify: [
    200,
    (u) => fetch(u + '/v1/classify', { method: 'POST', body: png, headers: { 'content-type': 'image/png' } }),
  ],
  corrupt: [
    400,
    (u) =>
      fetch(u + '/v1/embed', { method: 'POST', body: png.subarray(0, 100), headers: { 'content-type': 'image/png' } }),
  ],
  oversized: [
    413,
    (u) =>
      fetch(u + '/v1/embed', {
        method: 'POST',
        body: Buffer.alloc(17 * 2 ** 20, 1),
        headers: { 'content-type': 'image/png' },
      }),
  ],
  badmultipart: [
    400,
    (u) =>
      fetch(u + '/v1/embed', {
        method: 'POST',
        body: '--b\r\ncontent-disposition: form-data; name="a"; filename="a"\r\n\r\nxx',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
      }),
  ],
  bigmultipart: [
    413,
    (u) =>
      bigMultipart(u, 64).then((status) => ({ status: status === 'reset' ? 413 : status, reset: status === 'reset' })),
  ],
  unknown: [
    404,
    (u) => fetch(u + '/v1/embed?model=nope', { method: 'POST', body: png, headers: { 'content-type': 'image/png' } }),
  ],
  method: [405, (u) => fetch(u + '/v1/embed', { method: 'DELETE' })],
};
const MIX = [
  'png',
  'png',
  'png',
  'png',
  'classify',
  'classify',
  'corrupt',
  'oversized',
  'badmultipart',
  'unknown',
  'method',
  'png',
  'png',
  'png',
  'png',
  'png',
  'png',
  'png',
  'png',
  'bigmultipart',
];

async function oneRun() {
  const { child, url } = await startServer();
  for (let i = 0; i < 20; i++) await (await KINDS.png[1](url)).arrayBuffer(); // warm
  const rssBefore = rssMb(child.pid);
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(child.pid))), 50);
  const slow = Array.from({ length: 8 }, () => slowHeaders(url, 30));
  const tally = {};
  const wrong = [];
  let resets = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const kind = MIX[next++ % MIX.length];
        const [want, send] = KINDS[kind];
        // A client still uploading when the server answers 413 and closes may see EPIPE / a reset instead of the
        // answer (undici does); counted apart, not as a wrong answer, for the two over-the-limit kinds only.
        const r = await send(url).then(
          async (x) => (x.arrayBuffer && (await x.arrayBuffer()), x),
          (e) => ({ status: want === 413 ? 413 : `error ${e.cause?.code ?? e.message}`, reset: true }),
        );
        if (r.reset) resets++;
        tally[r.status] = (tally[r.status] ?? 0) + 1;
        if (r.status !== want) wrong.push(`${kind}: ${r.status}`);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await Promise.all(slow);
  const rssAfter = rssMb(child.pid);
  // Shutdown: 8 slow-header clients connected and 16 requests in flight when SIGTERM arrives.
  const slow2 = Array.from({ length: 8 }, () => slowHeaders(url, 600));
  await new Promise((r) => setTimeout(r, 300));
  const inflight = Array.from({ length: 16 }, () =>
    KINDS.png[1](url).then(
      (r) => r.status,
      () => 'reset',
    ),
  );
  await new Promise((r) => setTimeout(r, 5));
  const tStop = performance.now();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  const shutdownMs = performance.now() - tStop;
  const inflightStatuses = await Promise.all(inflight);
  await Promise.all(slow2);
  const fivexx = Object.entries(tally)
    .filter(([s]) => s >= 500)
    .reduce((a, [, n]) => a + n, 0);
  return { seconds, tally, wrong, resets, fivexx, rssBefore, rssAfter, peak, shutdownMs, inflightStatuses };
}

const load = loadavg()
  .map((x) => x.toFixed(2))
  .join(', ');
const runs = [];
for (let i = 0; i < RUNS; i++) {
  const r = await oneRun();
  console.error(
    `run ${i + 1}: ${REQUESTS} requests in ${r.seconds.toFixed(1)} s, statuses ${JSON.stringify(r.tally)}, ` +
      `5xx ${r.fivexx}, wrong ${r.wrong.length}, rss ${r.rssBefore.toFixed(0)} -> ${r.rssAfter.toFixed(0)} MB ` +
      `(peak ${r.peak.toFixed(0)}), shutdown ${r.shutdownMs.toFixed(0)} ms`,
  );
  runs.push(r);
}
const loadAfter = loadavg()
  .map((x) => x.toFixed(2))
  .join(', ');
const faults = MIX.filter((k) => !['png', 'classify'].includes(k)).length / MIX.length;
const inflightOk = runs.map((r) => r.inflightStatuses.filter((s) => s === 200 || s === 503).length);
const md = `## Reliability: load with faults, shutdown

Machine: ${cpus().length} × ${cpus()[0].model}, ${(totalmem() / 2 ** 30).toFixed(0)} GB, shared with other jobs (load average
${load} before, ${loadAfter} after). Command: \`node bench/reliability/run.mjs --runs ${RUNS} --requests ${REQUESTS}\`
(\`semembed serve\` of the runtime-node test model \`fashion-tiny\` as a child process, ${CONCURRENCY} concurrent clients on
loopback, default limits: 16 MB body, 8 MB image). ${(faults * 100).toFixed(0)}% of the requests are faults: corrupt PNG (400),
17 MB raw body (413), malformed multipart (400), multipart streamed without content-length offering 64 MB against the
16 MB limit (413; the server stops reading at the limit), unknown model (404), DELETE (405). Meanwhile 8 slow-header
clients send one byte per 100 ms. Then SIGTERM with 16 requests in flight and 8 more slow-header clients connected.
Medians of ${RUNS} runs (each run a fresh server).

| figure | median | runs |
|---|---|---|
| requests | ${REQUESTS} | ${runs.map(() => REQUESTS).join(', ')} |
| wall time (s) | ${median(runs.map((r) => r.seconds)).toFixed(1)} | ${runs.map((r) => r.seconds.toFixed(1)).join(', ')} |
| faults sent | ${Math.round(REQUESTS * faults)} | |
| answers not as expected | ${median(runs.map((r) => r.wrong.length))} | ${runs.map((r) => r.wrong.length).join(', ')} |
| 5xx | ${median(runs.map((r) => r.fivexx))} | ${runs.map((r) => r.fivexx).join(', ')} |
| over-the-limit uploads cut by a reset before the 413 was read | ${median(runs.map((r) => r.resets))} | ${runs.map((r) => r.resets).join(', ')} |
| server RSS before (MB) | ${median(runs.map((r) => r.rssBefore)).toFixed(0)} | ${runs.map((r) => r.rssBefore.toFixed(0)).join(', ')} |
| server RSS peak (MB) | ${median(runs.map((r) => r.peak)).toFixed(0)} | ${runs.map((r) => r.peak.toFixed(0)).join(', ')} |
| server RSS after (MB) | ${median(runs.map((r) => r.rssAfter)).toFixed(0)} | ${runs.map((r) => r.rssAfter.toFixed(0)).join(', ')} |
| shutdown after SIGTERM (ms) | ${median(runs.map((r) => r.shutdownMs)).toFixed(0)} | ${runs.map((r) => r.shutdownMs.toFixed(0)).join(', ')} |
| in-flight requests answered 200 (or 503) of 16 | ${median(inflightOk)} | ${inflightOk.join(', ')} |

Statuses of the last run: \`${JSON.stringify(runs.at(-1).tally)}\`. Before this work (issue #20) a 450 MB multipart
request was read whole (RSS 295 → 719 MB) and a slow-header client kept the server alive 43 s after SIGTERM.
`;
writeFileSync(join(root, 'bench', 'results', 'reliability.md'), md);
console.log(md);

// The native kernel alone (distances + selection, no metrics): node bench/retrieval/kernel.mjs <n> [threads] [rows]
import { synthetic } from './run-one.mjs';
import { loadNative } from '@semembed/retrieval';
const n = Number(process.argv[2]),
  threads = Number(process.argv[3] ?? 2),
  dim = 100;
const { x, labels } = synthetic(n);
const k = loadNative().kernel;
for (const ap of [false, true]) {
  const h = k.create(x, dim, false, labels, 251, ap, threads);
  const batch = Math.floor(16e6 / n);
  const top = new Int32Array(batch * 251),
    ranks = new Int32Array(batch * n),
    off = new Int32Array(batch + 1);
  const t = performance.now(),
    c0 = process.cpuUsage();
  const lim = Number(process.argv[4] ?? n);
  for (let q0 = 0; q0 < lim; q0 += batch) {
    k.start(h, x.subarray(q0 * dim, Math.min(n, q0 + batch) * dim), q0, top, ranks, off);
    k.wait(h);
  }
  const c = process.cpuUsage(c0);
  console.log(
    `n=${n} ap=${ap} threads=${threads} rows=${lim}: wall ${((performance.now() - t) / 1000).toFixed(2)} s, cpu ${((c.user + c.system) / 1e6).toFixed(2)} s`,
  );
}

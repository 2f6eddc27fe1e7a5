// Worker thread of evaluateRetrieval: scores its share of each batch of distance rows (shared memory) into the
// shared per-metric arrays. Synchronised with Atomics only, so the caller can stay synchronous (it blocks in
// Atomics.wait while its own share is done and the workers finish theirs). Protocol in parallel.ts.
import { workerData } from 'node:worker_threads';
import { RowScorer, type ScorerSetup } from './row-scorer.js';
import { CTRL, type WorkerInit } from './parallel.js';

const init = workerData as WorkerInit;
const ctrl = new Int32Array(init.ctrl);
const base = init.slot * CTRL.STRIDE;
try {
  const storage = init.names.map((_, i) => new Float64Array(init.storage, i * init.n * 8, init.n));
  const setup: ScorerSetup = { labels: init.labels, sims: init.sims, options: init.options };
  const scorer = new RowScorer(setup, storage);
  const rows = init.rowsType === 'float32' ? new Float32Array(init.rows) : new Float64Array(init.rows);
  Atomics.store(ctrl, base + CTRL.DONE, 0);
  Atomics.notify(ctrl, base + CTRL.DONE);
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, base + CTRL.SEQ, seen);
    const seq = Atomics.load(ctrl, base + CTRL.SEQ);
    if (seq < 0) break;
    seen = seq;
    const b0 = ctrl[base + CTRL.BATCH_START],
      q0 = ctrl[base + CTRL.FROM],
      q1 = ctrl[base + CTRL.TO];
    const n = init.n;
    for (let q = q0; q < q1; q++) scorer.score(q, rows.subarray((q - b0) * n, (q - b0 + 1) * n));
    Atomics.store(ctrl, base + CTRL.DONE, seq);
    Atomics.notify(ctrl, base + CTRL.DONE);
  }
} catch (err) {
  const msg = new TextEncoder().encode(String((err as Error)?.message ?? err).slice(0, 200));
  new Uint8Array(init.error).set(msg.subarray(0, init.error.byteLength));
  Atomics.store(ctrl, base + CTRL.DONE, -2);
  Atomics.notify(ctrl, base + CTRL.DONE);
}

// Helper threads for evaluateRetrieval: each scores a contiguous share of every batch of distance rows.
// Everything is shared memory + Atomics (no messages), so evaluateRetrieval stays synchronous: the main thread
// wakes the helpers, scores its own share, then waits for theirs. Per-query values do not depend on which thread
// computed them, so results are identical for any thread count.
import { Worker } from 'node:worker_threads';
import type { ScorerOptions } from './row-scorer.js';
import type { PrecisionKind } from './metrics.js';
import { RetrievalError } from './errors.js';

/** Int32 slots per helper in the control array. */
export const CTRL = { STRIDE: 8, SEQ: 0, DONE: 1, BATCH_START: 2, FROM: 3, TO: 4 } as const;

export interface WorkerInit {
  slot: number;
  n: number;
  names: string[];
  labels: Int32Array;
  sims: Record<PrecisionKind, Float64Array>;
  options: ScorerOptions;
  storage: SharedArrayBuffer;
  rows: SharedArrayBuffer;
  rowsType: 'float32' | 'float64';
  ctrl: SharedArrayBuffer;
  error: SharedArrayBuffer;
}

// vitest runs the sources; the worker itself must be compiled JavaScript, so it comes from dist there.
const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? '../dist/eval-worker.js' : './eval-worker.js',
  import.meta.url,
);

export class Helpers {
  private readonly ctrl: Int32Array;
  private readonly errors: SharedArrayBuffer[] = [];
  private readonly workers: Worker[] = [];
  private seq = 0;

  /** Starts `count` helpers and waits (up to 20 s) until each has set up; throws if one cannot. */
  constructor(count: number, init: Omit<WorkerInit, 'slot' | 'ctrl' | 'error'>) {
    const ctrlBuf = new SharedArrayBuffer(4 * CTRL.STRIDE * count);
    this.ctrl = new Int32Array(ctrlBuf);
    for (let s = 0; s < count; s++) {
      this.ctrl[s * CTRL.STRIDE + CTRL.DONE] = -1;
      const error = new SharedArrayBuffer(256);
      this.errors.push(error);
      const w = new Worker(workerUrl, { workerData: { ...init, slot: s, ctrl: ctrlBuf, error } satisfies WorkerInit });
      w.unref();
      this.workers.push(w);
    }
    for (let s = 0; s < count; s++) {
      const at = s * CTRL.STRIDE + CTRL.DONE;
      const deadline = performance.now() + 20_000;
      while (Atomics.load(this.ctrl, at) === -1 && performance.now() < deadline) Atomics.wait(this.ctrl, at, -1, 100);
      this.check(s, 'start');
      if (Atomics.load(this.ctrl, at) === -1) {
        this.close();
        throw new RetrievalError('evaluation helper thread did not start within 20 s');
      }
    }
  }

  get count(): number {
    return this.workers.length;
  }

  private check(s: number, what: string): void {
    if (Atomics.load(this.ctrl, s * CTRL.STRIDE + CTRL.DONE) !== -2) return;
    const msg = new TextDecoder().decode(new Uint8Array(this.errors[s])).replace(/\0+$/, '');
    this.close();
    throw new RetrievalError(`evaluation helper thread failed (${what}): ${msg}`);
  }

  /** Hands helper s the queries [from, to) of the batch starting at query batchStart. */
  start(s: number, batchStart: number, from: number, to: number): void {
    const b = s * CTRL.STRIDE;
    if (s === 0) this.seq++;
    this.ctrl[b + CTRL.BATCH_START] = batchStart;
    this.ctrl[b + CTRL.FROM] = from;
    this.ctrl[b + CTRL.TO] = to;
    Atomics.store(this.ctrl, b + CTRL.SEQ, this.seq);
    Atomics.notify(this.ctrl, b + CTRL.SEQ);
  }

  /** Blocks until every helper has finished the current batch. */
  wait(): void {
    for (let s = 0; s < this.workers.length; s++) {
      const at = s * CTRL.STRIDE + CTRL.DONE;
      for (;;) {
        const v = Atomics.load(this.ctrl, at);
        if (v === this.seq || v === -2) break;
        Atomics.wait(this.ctrl, at, v, 1000);
      }
      this.check(s, 'batch');
    }
  }

  close(): void {
    for (let s = 0; s < this.workers.length; s++) {
      Atomics.store(this.ctrl, s * CTRL.STRIDE + CTRL.SEQ, -1);
      Atomics.notify(this.ctrl, s * CTRL.STRIDE + CTRL.SEQ);
    }
  }
}

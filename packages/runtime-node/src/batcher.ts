import { RuntimeNodeError } from './errors.js';
import type { Model, OutputTensor } from './model.js';

export interface BatcherOptions {
  /** Most samples run in one batch (a single job larger than this still runs, alone). Default 32. */
  maxBatchSize?: number;
  /** How long the first queued job waits for company before its batch runs. Default 2 ms. */
  maxQueueDelayMs?: number;
  /** Called after every batch (for metrics). */
  onBatch?: (info: { size: number; jobs: number; seconds: number; ok: boolean }) => void;
  /** Called whenever the number of queued samples changes. */
  onQueueDepth?: (samples: number) => void;
}

interface Job {
  input: Float32Array;
  n: number;
  resolve: (out: Record<string, OutputTensor>) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class TimeoutError extends RuntimeNodeError {
  constructor(message: string) {
    super(message, 503);
  }
}

/**
 * Dynamic batching for one model (as Triton's dynamic batcher): jobs that arrive within
 * `maxQueueDelayMs` of the first queued one, or while a batch is running, are concatenated into one
 * batch of at most `maxBatchSize` samples. One batch runs at a time: ONNX Runtime already spreads a
 * batch over all cores, and a second concurrent batch would only contend for them.
 */
export class DynamicBatcher {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  private queue: Job[] = [];
  private queuedSamples = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    readonly model: Model,
    private readonly opts: BatcherOptions = {},
  ) {
    this.maxBatchSize = Math.max(1, opts.maxBatchSize ?? 32);
    this.maxQueueDelayMs = Math.max(0, opts.maxQueueDelayMs ?? 2);
  }

  /** Samples waiting (not yet in a running batch). */
  get depth(): number {
    return this.queuedSamples;
  }

  /** Queues `n` preprocessed samples; resolves with this job's rows of every model output. */
  submit(input: Float32Array, n: number, signal?: AbortSignal): Promise<Record<string, OutputTensor>> {
    if (input.length !== n * this.model.sampleSize) {
      return Promise.reject(
        new RuntimeNodeError(`input has ${input.length} values, expected ${n} x ${this.model.sampleShape.join('x')}`),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const job: Job = { input, n, resolve, reject, signal };
      if (signal) {
        // A job that times out while still queued is dropped so it never costs inference time.
        job.onAbort = () => {
          const i = this.queue.indexOf(job);
          if (i >= 0) {
            this.queue.splice(i, 1);
            this.setDepth(this.queuedSamples - job.n);
          }
          reject(signal.reason);
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.setDepth(this.queuedSamples + n);
      this.schedule();
    });
  }

  /** Resolves when nothing is queued or running. */
  async drain(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.flush();
      await this.running;
    }
  }

  private setDepth(d: number): void {
    this.queuedSamples = d;
    this.opts.onQueueDepth?.(d);
  }

  private schedule(): void {
    if (this.running) return; // the running batch's completion flushes the queue
    if (this.queuedSamples >= this.maxBatchSize) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.maxQueueDelayMs);
    }
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running || this.queue.length === 0) return;
    const jobs: Job[] = [];
    let size = 0;
    while (this.queue.length > 0 && (jobs.length === 0 || size + this.queue[0].n <= this.maxBatchSize)) {
      const job = this.queue.shift()!;
      jobs.push(job);
      size += job.n;
    }
    this.setDepth(this.queuedSamples - size);
    this.running = this.runBatch(jobs, size).finally(() => {
      this.running = undefined;
      // Jobs that queued up during the run have waited long enough: run them now.
      if (this.queue.length > 0) this.flush();
    });
  }

  private async runBatch(jobs: Job[], size: number): Promise<void> {
    for (const job of jobs) if (job.onAbort) job.signal!.removeEventListener('abort', job.onAbort);
    const input =
      jobs.length === 1
        ? jobs[0].input
        : concat(
            jobs.map((j) => j.input),
            size * this.model.sampleSize,
          );
    const t0 = performance.now();
    try {
      const out = await this.model.run(input, size, this.model.session.outputNames as string[]);
      this.opts.onBatch?.({ size, jobs: jobs.length, seconds: (performance.now() - t0) / 1000, ok: true });
      let row = 0;
      for (const job of jobs) {
        job.resolve(sliceRows(out, size, row, job.n));
        row += job.n;
      }
    } catch (err) {
      this.opts.onBatch?.({ size, jobs: jobs.length, seconds: (performance.now() - t0) / 1000, ok: false });
      if (jobs.length === 1) {
        jobs[0].reject(err);
        return;
      }
      // One job's data can make the whole batch fail (e.g. an index out of range): run each job alone so
      // only the guilty one gets the error.
      for (const job of jobs) {
        const t1 = performance.now();
        try {
          const out = await this.model.run(job.input, job.n, this.model.session.outputNames as string[]);
          this.opts.onBatch?.({ size: job.n, jobs: 1, seconds: (performance.now() - t1) / 1000, ok: true });
          job.resolve(out);
        } catch (e) {
          this.opts.onBatch?.({ size: job.n, jobs: 1, seconds: (performance.now() - t1) / 1000, ok: false });
          job.reject(e);
        }
      }
    }
  }
}

function concat(parts: Float32Array[], total: number): Float32Array {
  const out = new Float32Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function sliceRows(
  out: Record<string, OutputTensor>,
  batch: number,
  start: number,
  n: number,
): Record<string, OutputTensor> {
  const res: Record<string, OutputTensor> = {};
  for (const [name, t] of Object.entries(out)) {
    const per = t.data.length / batch;
    res[name] = { data: t.data.subarray(start * per, (start + n) * per), shape: [n, ...t.shape.slice(1)] };
  }
  return res;
}

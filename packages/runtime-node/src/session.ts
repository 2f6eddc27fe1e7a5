import { Worker } from 'node:worker_threads';
import { ModelLoadError, RuntimeNodeError } from './errors.js';
import { createSession, ort, type ProviderReport, type SessionOptions } from './providers.js';

export interface RawOutput {
  type: string;
  data: Float32Array;
  dims: number[];
}

/** What a Model needs from a session: an ONNX Runtime session in this thread, or one in a worker thread. */
export interface SessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(inputName: string, input: Float32Array, dims: number[], fetches: string[]): Promise<Record<string, RawOutput>>;
  release(): Promise<void>;
}

/** A session in this thread. onnxruntime-node's run() computes synchronously on the calling thread. */
export class LocalSession implements SessionLike {
  constructor(readonly session: ort.InferenceSession) {}
  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }
  async run(
    inputName: string,
    input: Float32Array,
    dims: number[],
    fetches: string[],
  ): Promise<Record<string, RawOutput>> {
    const result = await this.session.run({ [inputName]: new ort.Tensor('float32', input, dims) }, fetches);
    const out: Record<string, RawOutput> = {};
    for (const name of fetches)
      out[name] = { type: result[name].type, data: result[name].data as Float32Array, dims: [...result[name].dims] };
    return out;
  }
  release(): Promise<void> {
    return this.session.release();
  }
}

export async function createLocalSession(
  modelPath: string,
  opts: SessionOptions,
): Promise<{ session: SessionLike; report: ProviderReport }> {
  const { session, report } = await createSession(modelPath, opts);
  return { session: new LocalSession(session), report };
}

interface Pending {
  resolve: (out: Record<string, RawOutput>) => void;
  reject: (err: Error) => void;
}

// vitest runs the sources; the worker itself must be compiled JavaScript, so it comes from dist there.
const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? '../dist/session-worker.js' : './session-worker.js',
  import.meta.url,
);

/**
 * A session owned by a worker thread. onnxruntime-node computes `run()` synchronously on the thread
 * that calls it, which would freeze a server's event loop for the whole batch (no requests accepted,
 * no images decoded, batches stay small); in a worker the event loop keeps going while ORT computes.
 */
export class WorkerSession implements SessionLike {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {
    worker.on(
      'message',
      (m: { id: number; outputs?: Record<string, RawOutput>; error?: string; userFacing?: boolean }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error !== undefined) p.reject(m.userFacing ? new RuntimeNodeError(m.error) : new Error(m.error));
        else p.resolve(m.outputs!);
      },
    );
    const failAll = (err: Error) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => failAll(err));
    worker.on('exit', (code) => failAll(new Error(`inference worker exited (code ${code})`)));
  }

  static async create(
    modelPath: string,
    opts: SessionOptions,
  ): Promise<{ session: WorkerSession; report: ProviderReport }> {
    const worker = new Worker(workerUrl, { workerData: { modelPath, options: opts } });
    const ready = await new Promise<{ report: ProviderReport; inputNames: string[]; outputNames: string[] }>(
      (resolve, reject) => {
        const onError = (err: Error) => reject(err);
        worker.once('error', onError);
        worker.once(
          'message',
          (m: {
            type: string;
            report?: ProviderReport;
            inputNames?: string[];
            outputNames?: string[];
            error?: string;
          }) => {
            worker.off('error', onError);
            if (m.type === 'ready')
              resolve({ report: m.report!, inputNames: m.inputNames!, outputNames: m.outputNames! });
            else reject(new ModelLoadError(m.error ?? 'inference worker failed to start'));
          },
        );
      },
    ).catch(async (err) => {
      await worker.terminate();
      throw err;
    });
    return { session: new WorkerSession(worker, ready.inputNames, ready.outputNames), report: ready.report };
  }

  run(inputName: string, input: Float32Array, dims: number[], fetches: string[]): Promise<Record<string, RawOutput>> {
    if (this.exited) return Promise.reject(new Error('inference worker is gone'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The input is copied (not transferred): callers may still hold it, e.g. to rerun a failed batch per job.
      this.worker.postMessage({ id, inputName, input, dims, fetches });
    });
  }

  async release(): Promise<void> {
    if (this.exited) return;
    this.worker.postMessage({ type: 'release' });
    await new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
  }
}

import { basename } from 'node:path';
import { OutputHead, type ImageResult, type OutputTensor } from '@semembed/model';
import { ModelLoadError } from './errors.js';
import { preprocessImage, type PreprocessOptions } from './preprocess.js';
import type { ProviderReport, SessionOptions } from './providers.js';
import { createLocalSession, WorkerSession, type SessionLike } from './session.js';
import { checkModelPair } from './integrity.js';
import { readSidecar, resolveModelFiles, type Sidecar } from './sidecar.js';

export interface LoadModelOptions extends SessionOptions {
  /** Name the server uses for the model (default: the sidecar's folder or file name). */
  name?: string;
  /** Run one batch of zeros at load so the first request does not pay for lazy initialisation (default true). */
  warmup?: boolean;
  /** Largest accepted input image in pixels (width x height). */
  maxImagePixels?: number;
  /**
   * Run the session in a worker thread (default false; the server uses true). onnxruntime-node computes on
   * the calling thread, so without a worker a running batch blocks the event loop.
   */
  worker?: boolean;
}

export type { OutputTensor, ClassScore, ImageResult } from '@semembed/model';

/**
 * One model: an ONNX Runtime session plus what its sidecar says about inputs, outputs and classes (the output
 * head: interpret, topClasses, nearestClasses, shared with runtime-web through @semembed/model).
 */
export class Model extends OutputHead {
  private closed = false;

  constructor(
    name: string,
    override readonly sidecar: Sidecar,
    readonly session: SessionLike,
    readonly providers: ProviderReport,
    readonly files: { onnx: string; sidecar: string },
    readonly options: LoadModelOptions = {},
  ) {
    super(name, sidecar);
    this.checkSession(session, files.sidecar, files.onnx);
  }

  get executionProvider(): string {
    return this.providers.chosen;
  }

  /**
   * Runs a batch of `n` preprocessed samples (`n * sampleSize` floats, the model's layout) and returns
   * the requested outputs (default all the sidecar names).
   */
  async run(input: Float32Array, n: number, outputNames?: string[]): Promise<Record<string, OutputTensor>> {
    if (this.closed) throw new ModelLoadError(`model ${this.name} was released`);
    const names = this.checkBatch(input, n, outputNames, this.session.outputNames);
    const result = await this.session.run(this.inputName, input, [n, ...this.sampleShape], names);
    return this.collectOutputs(result, names);
  }

  /** Decodes and preprocesses images into one batch tensor. */
  async preprocess(images: Uint8Array[], opts: PreprocessOptions & { sources?: string[] } = {}): Promise<Float32Array> {
    const batch = new Float32Array(images.length * this.sampleSize);
    await Promise.all(
      images.map((img, i) =>
        preprocessImage(img, this.sidecar, batch, i * this.sampleSize, {
          maxImagePixels: opts.maxImagePixels ?? this.options.maxImagePixels,
          source: opts.sources?.[i] ?? (images.length > 1 ? `image ${i}` : opts.source),
        }),
      ),
    );
    return batch;
  }

  /** Images -> results, in batches of `batchSize` (default 32). */
  async embedImages(
    images: Uint8Array[],
    opts: PreprocessOptions & { batchSize?: number; sources?: string[] } = {},
  ): Promise<ImageResult[]> {
    return this.inBatches(images, opts, async (chunk, sources) => {
      const x = await this.preprocess(chunk, { ...opts, sources });
      return this.interpret(await this.run(x, chunk.length), chunk.length);
    });
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}

/**
 * Loads an ONNX model with its sidecar (path to model.onnx, model.json or their folder), picks the
 * execution provider (cuda > webgpu > cpu unless told) and runs a warm-up batch.
 */
export async function loadModel(path: string, opts: LoadModelOptions = {}): Promise<Model> {
  const files = resolveModelFiles(path);
  const sidecar = readSidecar(files.sidecar);
  checkModelPair(files.onnx, files.sidecar, sidecar.source);
  const { session, report } = opts.worker
    ? await WorkerSession.create(files.onnx, strip(opts))
    : await createLocalSession(files.onnx, opts);
  const name = opts.name ?? defaultModelName(files);
  let model: Model;
  try {
    model = new Model(name, sidecar, session, report, files, opts);
  } catch (err) {
    await session.release();
    throw err;
  }
  if (opts.warmup !== false) {
    try {
      await model.run(new Float32Array(model.sampleSize), 1);
    } catch (err) {
      await session.release();
      throw new ModelLoadError(
        `${files.onnx}: warm-up run failed on ${report.chosen} (${(err as Error).message.split('\n')[0]}); ` +
          `does the sidecar's input shape ${JSON.stringify(sidecar.input.shape)} match the model?`,
      );
    }
  }
  return model;
}

/** Only the session options (plain data) go to a worker. */
function strip(o: LoadModelOptions): SessionOptions {
  const { ep, threads, interOpThreads, graphOptimizationLevel, cudaProviderDir, deviceId } = o;
  return { ep, threads, interOpThreads, graphOptimizationLevel, cudaProviderDir, deviceId };
}

function defaultModelName(files: { onnx: string; sidecar: string }): string {
  const base = basename(files.onnx).replace(/\.onnx$/, '');
  if (base !== 'model') return base;
  return basename(files.onnx.slice(0, -'/model.onnx'.length)) || 'model';
}

import { basename } from 'node:path';
import { ModelLoadError, TensorShapeError } from './errors.js';
import { preprocessImage, type PreprocessOptions } from './preprocess.js';
import type { ProviderReport, SessionOptions } from './providers.js';
import { createLocalSession, WorkerSession, type SessionLike } from './session.js';
import { checkModelPair } from './integrity.js';
import { readSidecar, resolveModelFiles, type Sidecar, type SidecarClass, type SidecarOutput } from './sidecar.js';

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

export interface OutputTensor {
  data: Float32Array;
  shape: number[];
}

export interface ClassScore {
  index: number;
  id: number | string;
  name?: string;
  path?: string[];
  /** Softmax probability (classify by `prob`) or dot product with the class embedding (nearest classes). */
  score: number;
}

export interface ImageResult {
  /** L2-normalised embedding (empty for a model without an embedding output). */
  embedding: Float32Array;
  /** Class probabilities when the model has a probabilities (or logits) output. */
  probabilities?: Float32Array;
}

/** One model: an ONNX Runtime session plus what its sidecar says about inputs, outputs and classes. */
export class Model {
  readonly inputName: string;
  /** Input shape without the batch dimension, e.g. [28, 28, 1]. */
  readonly sampleShape: number[];
  readonly sampleSize: number;
  readonly embeddingOutput?: SidecarOutput;
  readonly probOutput?: SidecarOutput;
  readonly classEmbedding?: { data: Float32Array; rows: number; dim: number };
  private readonly classByIndex = new Map<number, SidecarClass>();
  private closed = false;

  constructor(
    readonly name: string,
    readonly sidecar: Sidecar,
    readonly session: SessionLike,
    readonly providers: ProviderReport,
    readonly files: { onnx: string; sidecar: string },
    readonly options: LoadModelOptions = {},
  ) {
    this.inputName = sidecar.input.name;
    if (!session.inputNames.includes(this.inputName)) {
      throw new ModelLoadError(`${files.sidecar}: input.name "${this.inputName}" is not an input of ${files.onnx} (it has ${session.inputNames.join(', ')})`);
    }
    for (const o of sidecar.outputs) {
      if (!session.outputNames.includes(o.name)) {
        throw new ModelLoadError(`${files.sidecar}: output "${o.name}" is not an output of ${files.onnx} (it has ${session.outputNames.join(', ')})`);
      }
    }
    this.sampleShape = sidecar.input.shape.slice(1) as number[];
    this.sampleSize = this.sampleShape.reduce((a, b) => a * b, 1);
    this.embeddingOutput = sidecar.outputs.find((o) => o.kind === 'embedding') ?? sidecar.outputs.find((o) => o.kind === 'features');
    this.probOutput = sidecar.outputs.find((o) => o.kind === 'probabilities') ?? sidecar.outputs.find((o) => o.kind === 'logits');
    for (const c of sidecar.classes ?? []) this.classByIndex.set(c.index, c);
    if (sidecar.classEmbedding) {
      const rows = sidecar.classEmbedding.length;
      const dim = sidecar.classEmbedding[0].length;
      this.classEmbedding = { data: Float32Array.from(sidecar.classEmbedding.flat()), rows, dim };
    }
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
    if (!Number.isInteger(n) || n < 1) throw new TensorShapeError(`batch size must be a positive integer, got ${n}`);
    if (input.length !== n * this.sampleSize) {
      throw new TensorShapeError(`input has ${input.length} values, expected ${n} x ${this.sampleShape.join('x')} = ${n * this.sampleSize}`);
    }
    const names = outputNames ?? this.sidecar.outputs.map((o) => o.name);
    for (const name of names) {
      if (!this.session.outputNames.includes(name)) throw new TensorShapeError(`model ${this.name} has no output "${name}" (it has ${this.session.outputNames.join(', ')})`);
    }
    const result = await this.session.run(this.inputName, input, [n, ...this.sampleShape], names);
    const out: Record<string, OutputTensor> = {};
    for (const name of names) {
      const t = result[name];
      if (t.type !== 'float32') throw new ModelLoadError(`output "${name}" of ${this.name} is ${t.type}, only float32 outputs are supported`);
      out[name] = { data: t.data as Float32Array, shape: [...t.dims] };
    }
    return out;
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

  /** Turns the raw outputs of a batch into per-sample results (normalised embedding, probabilities). */
  interpret(outputs: Record<string, OutputTensor>, n: number): ImageResult[] {
    const emb = this.embeddingOutput ? outputs[this.embeddingOutput.name] : undefined;
    const prob = this.probOutput ? outputs[this.probOutput.name] : undefined;
    // A plain classifier (no embedding output) still classifies; callers that need embeddings check first.
    if (!emb && !prob) throw new ModelLoadError(`model ${this.name} has neither an embedding nor a probabilities output in its sidecar`);
    const dim = emb ? emb.data.length / n : 0;
    const results: ImageResult[] = [];
    for (let i = 0; i < n; i++) {
      const embedding = emb ? emb.data.slice(i * dim, (i + 1) * dim) : new Float32Array(0);
      // Models declared normalised (the l2norm layer) are taken as they are; others are normalised here.
      if (emb && !this.embeddingOutput?.normalized) l2normalize(embedding);
      const r: ImageResult = { embedding };
      if (prob) {
        const k = prob.data.length / n;
        const p = prob.data.slice(i * k, (i + 1) * k);
        if (this.probOutput?.kind === 'logits') softmaxInPlace(p);
        r.probabilities = p;
      }
      results.push(r);
    }
    return results;
  }

  /** Throws a client error (400) naming the outputs when the model has no embedding (a plain classifier). */
  requireEmbedding(what: string): void {
    if (this.embeddingOutput) return;
    const outs = this.sidecar.outputs.map((o) => `${o.name} (${o.kind})`).join(', ');
    throw new TensorShapeError(`model ${this.name} has no embedding output (its outputs: ${outs}), so it cannot ${what}`);
  }

  /** Images -> results, in batches of `batchSize` (default 32). */
  async embedImages(images: Uint8Array[], opts: PreprocessOptions & { batchSize?: number; sources?: string[] } = {}): Promise<ImageResult[]> {
    const bs = opts.batchSize ?? 32;
    const results: ImageResult[] = [];
    for (let start = 0; start < images.length; start += bs) {
      const chunk = images.slice(start, start + bs);
      const x = await this.preprocess(chunk, { ...opts, sources: opts.sources?.slice(start, start + bs) });
      results.push(...this.interpret(await this.run(x, chunk.length), chunk.length));
    }
    return results;
  }

  classInfo(index: number): Omit<ClassScore, 'score'> {
    const c = this.classByIndex.get(index);
    return c ? { index, id: c.id, ...(c.name !== undefined && { name: c.name }), ...(c.path && { path: c.path }) } : { index, id: index };
  }

  /** Top-k classes by probability. */
  topClasses(probabilities: Float32Array, k = 5): ClassScore[] {
    return topK(probabilities, k).map(([index, score]) => ({ ...this.classInfo(index), score }));
  }

  /** Top-k classes whose class embedding has the largest dot product with `embedding`. */
  nearestClasses(embedding: Float32Array, k = 5): ClassScore[] {
    const ce = this.classEmbedding;
    if (!ce) return [];
    if (embedding.length !== ce.dim) throw new TensorShapeError(`embedding has ${embedding.length} values, class embeddings ${ce.dim}`);
    const sims = new Float32Array(ce.rows);
    for (let r = 0; r < ce.rows; r++) {
      let s = 0;
      for (let j = 0; j < ce.dim; j++) s += ce.data[r * ce.dim + j] * embedding[j];
      sims[r] = s;
    }
    return topK(sims, k).map(([index, score]) => ({ ...this.classInfo(index), score }));
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(Math.max(s, 1e-12));
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

function softmaxInPlace(v: Float32Array): void {
  let m = -Infinity;
  for (const x of v) m = Math.max(m, x);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] = Math.exp(v[i] - m);
  for (let i = 0; i < v.length; i++) v[i] /= s;
}

/** Indices of the k largest values, largest first; ties keep the lower index first. */
export function topK(values: ArrayLike<number>, k: number): [number, number][] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b] - values[a] || a - b);
  return idx.slice(0, Math.max(0, Math.min(k, idx.length))).map((i) => [i, values[i]]);
}

/**
 * Loads an ONNX model with its sidecar (path to model.onnx, model.json or their folder), picks the
 * execution provider (cuda > webgpu > cpu unless told) and runs a warm-up batch.
 */
export async function loadModel(path: string, opts: LoadModelOptions = {}): Promise<Model> {
  const files = resolveModelFiles(path);
  const sidecar = readSidecar(files.sidecar);
  checkModelPair(files.onnx, files.sidecar, sidecar.source);
  const { session, report } = opts.worker ? await WorkerSession.create(files.onnx, strip(opts)) : await createLocalSession(files.onnx, opts);
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
      throw new ModelLoadError(`${files.onnx}: warm-up run failed on ${report.chosen} (${(err as Error).message.split('\n')[0]}); does the sidecar's input shape ${JSON.stringify(sidecar.input.shape)} match the model?`);
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

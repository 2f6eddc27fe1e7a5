import { SidecarError, TensorError } from './errors.js';
import type { Sidecar, SidecarClass, SidecarOutput } from './sidecar-schema.js';
import { l2normalize, softmaxInPlace, topK } from './vector.js';

export interface OutputTensor {
  data: Float32Array;
  shape: number[];
}

export interface ClassScore {
  index: number;
  id: number | string;
  name?: string;
  path?: string[];
  /** Probability (topClasses) or dot product with the class embedding (nearestClasses). */
  score: number;
}

/** One gallery hit (runtime-node's and runtime-web's galleries answer with the same shape). */
export interface GalleryMatch {
  rank: number;
  /** Row in the gallery features. */
  index: number;
  id?: string;
  label?: string;
  /** Dot product of the L2-normalised embeddings: the predicted semantic similarity of the two images' classes. */
  similarity: number;
}

/** What checkSession needs of a session (ONNX Runtime node or web). */
export interface SessionNames {
  inputNames: readonly string[];
  outputNames: readonly string[];
}

/** An output tensor as ONNX Runtime (node or web) hands it over. */
export interface RuntimeTensor {
  type: string;
  data: unknown;
  dims: readonly number[];
}

export interface ImageResult {
  /** L2-normalised embedding (empty for a plain classifier). */
  embedding: Float32Array;
  /** Class probabilities when the model has a probabilities (or logits) output. */
  probabilities?: Float32Array;
}

/**
 * What a model's outputs mean, from its sidecar: which output is the embedding and which the class scores,
 * the class labels and the class embeddings. Both runtimes' model classes extend it, so a browser result and a
 * server result are computed by the same lines.
 */
export class OutputHead {
  readonly inputName: string;
  /** Input shape without the batch dimension, e.g. [28, 28, 1]. */
  readonly sampleShape: number[];
  readonly sampleSize: number;
  /** The embedding output, else the pooled features. */
  readonly embeddingOutput?: SidecarOutput;
  /** The probabilities output, else the logits (softmax applied in interpret). */
  readonly probOutput?: SidecarOutput;
  readonly classEmbedding?: { data: Float32Array; rows: number; dim: number };
  private readonly classByIndex = new Map<number, SidecarClass>();

  constructor(
    readonly name: string,
    readonly sidecar: Sidecar,
  ) {
    const { outputs } = sidecar;
    this.inputName = sidecar.input.name;
    this.sampleShape = sidecar.input.shape.slice(1) as number[];
    this.sampleSize = this.sampleShape.reduce((a, b) => a * b, 1);
    this.embeddingOutput = outputs.find((o) => o.kind === 'embedding') ?? outputs.find((o) => o.kind === 'features');
    this.probOutput = outputs.find((o) => o.kind === 'probabilities') ?? outputs.find((o) => o.kind === 'logits');
    for (const c of sidecar.classes ?? []) this.classByIndex.set(c.index, c);
    if (sidecar.classEmbedding) {
      const rows = sidecar.classEmbedding.length;
      const dim = sidecar.classEmbedding[0].length;
      this.classEmbedding = { data: Float32Array.from(sidecar.classEmbedding.flat()), rows, dim };
    }
  }

  /**
   * Checks that the session has the sidecar's input and outputs (a sidecar from another model would mislabel
   * every result). `where` names the sidecar, `model` the ONNX file.
   */
  checkSession(session: SessionNames, where: string, model: string): void {
    const has = (names: readonly string[]) => `(it has ${names.join(', ')})`;
    if (!session.inputNames.includes(this.inputName)) {
      const what = `input.name "${this.inputName}" is not an input of ${model}`;
      throw new SidecarError(`${where}: ${what} ${has(session.inputNames)}`);
    }
    for (const o of this.sidecar.outputs) {
      if (!session.outputNames.includes(o.name)) {
        throw new SidecarError(`${where}: output "${o.name}" is not an output of ${model} ${has(session.outputNames)}`);
      }
    }
  }

  /** The checks before a batch of n samples runs; returns the output names to fetch (default: the sidecar's). */
  checkBatch(
    input: Float32Array,
    n: number,
    outputNames: readonly string[] | undefined,
    available: readonly string[],
  ): string[] {
    if (!Number.isInteger(n) || n < 1) throw new TensorError(`batch size must be a positive integer, got ${n}`);
    if (input.length !== n * this.sampleSize) {
      const want = `${n} x ${this.sampleShape.join('x')} = ${n * this.sampleSize}`;
      throw new TensorError(`input has ${input.length} values, expected ${want}`);
    }
    const names = outputNames ? [...outputNames] : this.sidecar.outputs.map((o) => o.name);
    for (const name of names) {
      if (!available.includes(name)) {
        throw new TensorError(`model ${this.name} has no output "${name}" (it has ${available.join(', ')})`);
      }
    }
    return names;
  }

  /** The session's result -> float32 output tensors by name. */
  collectOutputs(result: Record<string, RuntimeTensor>, names: readonly string[]): Record<string, OutputTensor> {
    const out: Record<string, OutputTensor> = {};
    for (const name of names) {
      const t = result[name];
      if (t.type !== 'float32') {
        throw new TensorError(`output "${name}" of ${this.name} is ${t.type}, only float32 outputs are supported`, 500);
      }
      out[name] = { data: t.data as Float32Array, shape: [...t.dims] };
    }
    return out;
  }

  /**
   * Raw outputs of a batch of n -> per-sample results (normalised embedding, probabilities). A plain classifier
   * (no embedding output) still classifies, with empty embeddings; callers that need them call requireEmbedding.
   */
  interpret(outputs: Record<string, OutputTensor>, n: number): ImageResult[] {
    const emb = this.embeddingOutput ? outputs[this.embeddingOutput.name] : undefined;
    const prob = this.probOutput ? outputs[this.probOutput.name] : undefined;
    if (!emb && !prob) {
      const what = 'has neither an embedding nor a probabilities output in its sidecar';
      throw new TensorError(`model ${this.name} ${what}`, 500);
    }
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

  /**
   * Both runtimes' embedImages loop: images -> results in batches of `batchSize` (default 32), each batch with its
   * slice of `sources`; `batch` says how one batch becomes results (preprocess, run, interpret).
   */
  protected async inBatches<I>(
    images: I[],
    opts: { batchSize?: number; sources?: string[] },
    batch: (chunk: I[], sources: string[] | undefined) => Promise<ImageResult[]>,
  ): Promise<ImageResult[]> {
    const bs = opts.batchSize ?? 32;
    const results: ImageResult[] = [];
    for (let start = 0; start < images.length; start += bs)
      results.push(...(await batch(images.slice(start, start + bs), opts.sources?.slice(start, start + bs))));
    return results;
  }

  /** Throws a client error (400) naming the outputs when the model has no embedding (a plain classifier). */
  requireEmbedding(what: string): void {
    if (this.embeddingOutput) return;
    const outs = this.sidecar.outputs.map((o) => `${o.name} (${o.kind})`).join(', ');
    throw new TensorError(`model ${this.name} has no embedding output (its outputs: ${outs}), so it cannot ${what}`);
  }

  classInfo(index: number): Omit<ClassScore, 'score'> {
    const c = this.classByIndex.get(index);
    if (!c) return { index, id: index };
    return { index, id: c.id, ...(c.name !== undefined && { name: c.name }), ...(c.path && { path: c.path }) };
  }

  /** Top-k classes by probability. */
  topClasses(probabilities: Float32Array, k = 5): ClassScore[] {
    return topK(probabilities, k).map(([index, score]) => ({ ...this.classInfo(index), score }));
  }

  /** Top-k classes whose class embedding has the largest dot product with `embedding` ([] without them). */
  nearestClasses(embedding: Float32Array, k = 5): ClassScore[] {
    const ce = this.classEmbedding;
    if (!ce) return [];
    if (embedding.length !== ce.dim) {
      throw new TensorError(`embedding has ${embedding.length} values, class embeddings ${ce.dim}`);
    }
    const sims = new Float32Array(ce.rows);
    for (let r = 0; r < ce.rows; r++) {
      let s = 0;
      for (let j = 0; j < ce.dim; j++) s += ce.data[r * ce.dim + j] * embedding[j];
      sims[r] = s;
    }
    return topK(sims, k).map(([index, score]) => ({ ...this.classInfo(index), score }));
  }
}

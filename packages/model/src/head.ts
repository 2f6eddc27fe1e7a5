import { TensorError } from './errors.js';
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
   * Raw outputs of a batch of n -> per-sample results (normalised embedding, probabilities). A plain classifier
   * (no embedding output) still classifies, with empty embeddings; callers that need them call requireEmbedding.
   */
  interpret(outputs: Record<string, OutputTensor>, n: number): ImageResult[] {
    const emb = this.embeddingOutput ? outputs[this.embeddingOutput.name] : undefined;
    const prob = this.probOutput ? outputs[this.probOutput.name] : undefined;
    if (!emb && !prob) throw new TensorError(`model ${this.name} has neither an embedding nor a probabilities output in its sidecar`, 500);
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
    if (embedding.length !== ce.dim) throw new TensorError(`embedding has ${embedding.length} values, class embeddings ${ce.dim}`);
    const sims = new Float32Array(ce.rows);
    for (let r = 0; r < ce.rows; r++) {
      let s = 0;
      for (let j = 0; j < ce.dim; j++) s += ce.data[r * ce.dim + j] * embedding[j];
      sims[r] = s;
    }
    return topK(sims, k).map(([index, score]) => ({ ...this.classInfo(index), score }));
  }
}

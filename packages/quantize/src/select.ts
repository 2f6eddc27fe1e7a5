// Choosing a variant by what the model is for: each candidate (fp32, fp16, int8, dynamic) embeds a labelled
// slice in onnxruntime-node; mAHP@250 (LCS heights) and balanced accuracy are computed exactly as
// evaluate-retrieval / evaluate-classification do; the smallest (or fastest) variant within --max_drop of
// fp32 on both wins.
import * as ort from 'onnxruntime-node';
import type { Hierarchy } from '@semembed/hierarchy';
import { classificationAccuracy, evaluateRetrieval, rankClasses } from '@semembed/retrieval';
import { QuantizeError } from './errors.js';

export interface LabelledSlice {
  /** Preprocessed samples (the model's input shape), concatenated. */
  data: Float32Array;
  n: number;
  /** Class index per sample (into `classes`). */
  labels: Int32Array;
  /** Class id per class index, as the hierarchy names them. */
  classes: (number | string)[];
  hierarchy: Pick<Hierarchy, 'similarityMatrix' | 'lcsHeight'>;
}

export interface Candidate {
  name: string;
  bytes: Uint8Array;
  path?: string;
}

export interface CandidateResult {
  name: string;
  path?: string;
  bytes: number;
  /** Median ms of one image and of one batch (`batch` images). */
  latencySingleMs: number;
  latencyBatchMs: number;
  batch: number;
  mahp: number;
  accuracy: number;
  /** max |Δ| of the embeddings against the first candidate (fp32). */
  maxAbsDelta: number;
  /** Within the bound (fp32 always is). */
  ok: boolean;
  error?: string;
}

export interface SelectOptions {
  embeddingOutput: string;
  /** Softmax output for balanced accuracy; else nearest class embedding (`centroids`). */
  probOutput?: string;
  centroids?: { data: Float64Array; rows: number };
  clipAhp?: number;
  maxDrop?: number;
  objective?: 'size' | 'latency';
  batch?: number;
  latencyRuns?: number;
  onProgress?: (name: string) => void;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function runAll(
  session: ort.InferenceSession,
  slice: LabelledSlice,
  outputs: string[],
  batch: number,
): Promise<Record<string, Float32Array>> {
  const inName = session.inputNames[0];
  const meta = session.inputMetadata[0] as { shape?: (number | string)[] };
  const per = slice.data.length / slice.n;
  const fixed = typeof meta.shape?.[0] === 'number' ? (meta.shape[0] as number) : undefined;
  const step = fixed ?? batch;
  const parts: Record<string, Float32Array[]> = Object.fromEntries(outputs.map((o) => [o, []]));
  const rest = (meta.shape ?? []).slice(1).map(Number);
  for (let s = 0; s < slice.n; s += step) {
    const n = Math.min(step, slice.n - s);
    const x = slice.data.subarray(s * per, (s + n) * per);
    const r = await session.run({ [inName]: new ort.Tensor('float32', x, [n, ...rest]) }, outputs);
    for (const o of outputs) parts[o].push(Float32Array.from(r[o].data as Float32Array));
  }
  return Object.fromEntries(outputs.map((o) => [o, concat(parts[o])]));
}

function concat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
  let off = 0;
  for (const x of xs) {
    out.set(x, off);
    off += x.length;
  }
  return out;
}

async function latency(session: ort.InferenceSession, slice: LabelledSlice, n: number, runs: number): Promise<number> {
  const meta = session.inputMetadata[0] as { shape?: (number | string)[] };
  const rest = (meta.shape ?? []).slice(1).map(Number);
  const per = slice.data.length / slice.n;
  const x = new Float32Array(n * per);
  for (let i = 0; i < n; i++) x.set(slice.data.subarray((i % slice.n) * per, ((i % slice.n) + 1) * per), i * per);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [n, ...rest]) };
  await session.run(feeds);
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** Embeds the slice with every candidate, scores them, marks which stay within `maxDrop` of the first. */
export async function evaluateCandidates(
  candidates: Candidate[],
  slice: LabelledSlice,
  o: SelectOptions,
): Promise<CandidateResult[]> {
  if (slice.n < 2) throw new QuantizeError(`the labelled slice has ${slice.n} samples; retrieval needs at least 2`);
  // AHP@k needs k other samples: a smaller slice is scored at AHP@(n - 1).
  const clip = Math.min(o.clipAhp ?? 250, slice.n - 1);
  const batch = o.batch ?? 32;
  const h = slice.hierarchy;
  const sims = {
    WUP: h.similarityMatrix(slice.classes, 'WUP'),
    LCS_HEIGHT: h.similarityMatrix(slice.classes, 'LCS_HEIGHT'),
  };
  const truth = Array.from(slice.labels, (l) => slice.classes[l]);
  const lcs = (a: number | string, b: number | string) => slice.hierarchy.lcsHeight(a, b);
  const results: CandidateResult[] = [];
  let reference: Float32Array | undefined;
  for (const c of candidates) {
    o.onProgress?.(c.name);
    let session: ort.InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(c.bytes);
      const outs = [o.embeddingOutput, ...(o.probOutput ? [o.probOutput] : [])];
      const r = await runAll(session, slice, outs, batch);
      const emb = r[o.embeddingOutput];
      const dim = emb.length / slice.n;
      const ret = evaluateRetrieval(emb, dim, slice.labels, sims, {
        ks: [1],
        computeAhp: clip,
        computeAp: false,
        normalize: false,
        engine: 'exact',
        threads: 1,
      });
      const ranked = o.probOutput
        ? rankClasses(r[o.probOutput], r[o.probOutput].length / slice.n, { kind: 'prob' }, 1)
        : rankClasses(emb, dim, { kind: 'centroids', centroids: o.centroids!.data, rows: o.centroids!.rows }, 1);
      const cls = classificationAccuracy(ranked.ranked, ranked.k, slice.classes, truth, lcs);
      const acc = cls.metrics['Balanced Accuracy'];
      reference ??= emb;
      let d = 0;
      for (let i = 0; i < emb.length; i++) d = Math.max(d, Math.abs(emb[i] - reference[i]));
      const runs = o.latencyRuns ?? 10;
      results.push({
        name: c.name,
        ...(c.path && { path: c.path }),
        bytes: c.bytes.length,
        latencySingleMs: await latency(session, slice, 1, runs),
        latencyBatchMs: await latency(session, slice, batch, Math.max(3, runs >> 1)),
        batch,
        mahp: ret.mean[`AHP@${clip} (LCS_HEIGHT)`],
        accuracy: acc,
        maxAbsDelta: d,
        ok: true,
      });
    } catch (err) {
      if (results.length === 0) throw err; // the float model itself must run
      results.push({
        name: c.name,
        bytes: c.bytes.length,
        latencySingleMs: NaN,
        latencyBatchMs: NaN,
        batch,
        mahp: NaN,
        accuracy: NaN,
        maxAbsDelta: NaN,
        ok: false,
        error: (err as Error).message.split('\n')[0],
      });
    } finally {
      await session?.release();
    }
  }
  const maxDrop = o.maxDrop ?? 0.005;
  const [base] = results;
  for (const r of results) if (!r.error) r.ok = base.mahp - r.mahp <= maxDrop && base.accuracy - r.accuracy <= maxDrop;
  return results;
}

/** The variant to keep: among those within the bound, the smallest file (or the fastest single image). */
export function chooseCandidate(results: CandidateResult[], objective: 'size' | 'latency' = 'size'): CandidateResult {
  const ok = results.filter((r) => r.ok);
  const key = (r: CandidateResult) => (objective === 'size' ? r.bytes : r.latencySingleMs);
  return ok.reduce((best, r) => (key(r) < key(best) ? r : best), ok[0]);
}

/** The table `semembed quantize --max_drop` prints (markdown, so it pastes into reports). */
export function formatCandidates(results: CandidateResult[], chosen: CandidateResult, maxDrop: number): string {
  const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const rows = results.map((r) => {
    const verdict = r.error
      ? `not run: ${r.error}`
      : r === chosen
        ? '**chosen**'
        : r.ok
          ? 'within bound'
          : `drop > ${maxDrop}`;
    const cells = [
      r.name,
      `${(r.bytes / 1024).toFixed(1)} KiB`,
      `${f(r.latencySingleMs, 2)} ms`,
      `${f(r.latencyBatchMs, 1)} ms (${r.batch})`,
      f(r.mahp, 4),
      `${f(r.accuracy * 100, 2)}%`,
      f(r.maxAbsDelta, 4),
      verdict,
    ];
    return `| ${cells.join(' | ')} |`;
  });
  const head =
    '| variant | size | latency, 1 image | latency, batch | mAHP@250 | balanced accuracy ' +
    '| max abs Δ embedding | |';
  return [head, '|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}

/**
 * Runs a StepPlan for n rows: forward through the ops, the losses, backward in reverse order, the regularisers,
 * then the gradients as tfjs tensors and the BatchNorm moving statistics written back into the model. Buffers are
 * allocated once per batch size and reused; activations never become tfjs tensors.
 */
import type * as tfType from '@tensorflow/tfjs';
import { crossEntropyNative, embeddingLossNative } from './losses.js';
import type { StepKernels } from './kernels.js';
import type { StepPlan } from './plan.js';
import type { RunContext, StepWeight } from './types.js';
import type { HeapBackend } from '../native-kernels.js';

type Tf = typeof tfType;
type F32 = Float32Array;

export interface StepTargets {
  embedding: Float32Array;
  embDim: number;
  clsWeight: number;
  numClasses: number;
}

export interface StepOutput {
  value: number;
  grads: tfType.NamedTensorMap;
  emb: Float32Array;
  prob?: Float32Array;
}

/** Per-op milliseconds (forward / backward) when SEMEMBED_NATIVE_STEP_PROFILE=1, summed over all steps. */
export const stepProfile = new Map<string, { ms: number; calls: number }>();
const profiling = process.env.SEMEMBED_NATIVE_STEP_PROFILE === '1';

function timed(label: string, f: () => void): void {
  if (!profiling) return f();
  const t = performance.now();
  f();
  const e = stepProfile.get(label) ?? { ms: 0, calls: 0 };
  e.ms += performance.now() - t;
  e.calls++;
  stepProfile.set(label, e);
}

class Buffers {
  readonly values: (F32 | undefined)[];
  readonly grads: (F32 | undefined)[];
  readonly pending: (F32 | undefined)[];
  readonly started: Uint8Array;
  readonly scratch = new Map<string, F32>();
  readonly weightGrads = new Map<StepWeight, F32>();
  constructor(
    readonly plan: StepPlan,
    readonly n: number,
  ) {
    const slots = plan.sizes.length;
    this.values = new Array<F32 | undefined>(slots);
    this.grads = new Array<F32 | undefined>(slots);
    this.pending = new Array<F32 | undefined>(slots);
    this.started = new Uint8Array(slots);
    for (let s = 0; s < slots; s++) {
      if (plan.root[s] !== s || s === plan.input) continue;
      this.values[s] = new Float32Array(plan.sizes[s] * n);
      this.grads[s] = new Float32Array(plan.sizes[s] * n);
    }
    for (const op of plan.ops) for (const w of op.weights) this.weightGrads.set(w, new Float32Array(w.size));
  }
}

export class NativeStep {
  private readonly byBatch = new Map<number, Buffers>();
  constructor(
    private readonly tf: Tf,
    readonly plan: StepPlan,
    private readonly k: StepKernels,
  ) {}

  /** True when every variable is a weight of the plan (gradients of others cannot be computed here). */
  covers(vars: tfType.Variable[]): boolean {
    const mine = new Set(this.plan.ops.flatMap((op) => op.weights.map((w) => w.variable)));
    return vars.every((v) => mine.has(v));
  }

  private buffers(n: number): Buffers {
    let b = this.byBatch.get(n);
    if (!b) {
      // A full batch and a smaller last one: keep both, drop older sizes.
      if (this.byBatch.size >= 2) this.byBatch.delete(this.byBatch.keys().next().value as number);
      b = new Buffers(this.plan, n);
      this.byBatch.set(n, b);
    }
    return b;
  }

  /** The weights' current values: views of the wasm heap (no copy) or the backend's data. */
  private readWeights(): Map<StepWeight, F32> {
    const backend = this.tf.backend() as unknown as Partial<HeapBackend>;
    const heap = this.tf.getBackend() === 'wasm' && backend.typedArrayFromHeap?.bind(backend);
    const m = new Map<StepWeight, F32>();
    for (const op of this.plan.ops) {
      for (const w of op.weights) {
        m.set(w, heap ? heap(w.variable) : (w.variable.dataSync() as F32));
      }
    }
    return m;
  }

  run(vars: tfType.Variable[], x: Float32Array, labels: Int32Array, n: number, t: StepTargets): StepOutput {
    const { plan, k, tf } = this;
    const b = this.buffers(n);
    const root = plan.root;
    const weights = this.readWeights();
    b.started.fill(0);
    let opIndex = 0;
    const ctx: RunContext = {
      n,
      k,
      value: (id) => (root[id] === plan.input ? x.subarray(0, n * plan.inputSize) : b.values[root[id]]!),
      grad: (id) => b.grads[root[id]]!,
      gradOut: (id) => {
        const r = root[id];
        if (r === plan.input) return undefined;
        if (!b.started[r]) {
          b.started[r] = 1;
          return b.grads[r];
        }
        const p = (b.pending[r] ??= new Float32Array(b.grads[r]!.length));
        b.started[r] = 2;
        return p;
      },
      gradDone: (id) => {
        const r = root[id];
        if (b.started[r] !== 2) return;
        const g = b.grads[r]!;
        const p = b.pending[r]!;
        for (let i = 0; i < g.length; i++) g[i] += p[i];
        b.started[r] = 1;
      },
      weight: (w) => weights.get(w)!,
      weightGrad: (w) => b.weightGrads.get(w)!,
      scratch: (key, size) => {
        const name = `${opIndex}:${key}`;
        let s = b.scratch.get(name);
        if (!s || s.length !== size) {
          s = new Float32Array(size);
          b.scratch.set(name, s);
        }
        return s;
      },
    };
    plan.ops.forEach((op, i) => {
      opIndex = i;
      timed(`${op.label} forward`, () => op.forward(ctx));
    });
    let value = 0;
    timed('loss', () => {
      const emb = ctx.value(plan.emb);
      const dEmb = ctx.gradOut(plan.emb)!;
      const target = (row: number, j: number) => t.embedding[labels[row] * t.embDim + j];
      value += embeddingLossNative(plan.loss, emb, target, n, plan.embDim, dEmb);
      ctx.gradDone(plan.emb);
      if (plan.prob !== undefined && t.clsWeight > 0) {
        const dProb = ctx.gradOut(plan.prob)!;
        const probs = ctx.value(plan.prob);
        value += crossEntropyNative(probs, labels, n, plan.probDim!, t.clsWeight, dProb);
        ctx.gradDone(plan.prob);
      }
    });
    for (let i = plan.ops.length - 1; i >= 0; i--) {
      const op = plan.ops[i];
      opIndex = i;
      if (!b.started[root[op.output]]) {
        // Nothing downstream reaches the loss (a prob head with clsWeight 0): zero weight gradients.
        for (const w of op.weights) b.weightGrads.get(w)!.fill(0);
        continue;
      }
      timed(`${op.label} backward`, () => op.backward(ctx));
    }
    // Regularisers (model.losses): l2 * sum(w^2) in the loss, 2 * l2 * w in the gradient.
    timed('regularisers', () => {
      for (const [w, g] of b.weightGrads) {
        if (w.l2 === 0) continue;
        const s = k.stepL2(weights.get(w)!, g, w.l2);
        value += Math.fround(w.l2 * s);
      }
    });
    const out: StepOutput = { value: Math.fround(value), grads: {}, emb: ctx.value(plan.emb).slice() };
    if (plan.prob !== undefined) out.prob = ctx.value(plan.prob).slice();
    timed('outputs + state', () => {
      const copy = tf.getBackend() !== 'wasm';
      const byVar = new Map<tfType.Variable, StepWeight>();
      for (const w of b.weightGrads.keys()) byVar.set(w.variable, w);
      for (const v of vars) {
        const g = b.weightGrads.get(byVar.get(v)!)!;
        // wasm copies into its heap; the cpu backend would keep the array itself (reused next step)
        out.grads[v.name] = tf.tensor(copy ? g.slice() : g, v.shape);
      }
      plan.ops.forEach((op, i) => {
        opIndex = i;
        for (const u of op.updates?.(ctx) ?? []) {
          const next = tf.tensor(u.values, u.variable.shape);
          u.variable.assign(next);
          next.dispose();
        }
      });
    });
    return out;
  }
}

// onnxruntime-web's wasm build inside Node (what a Node app without native addons, or an edge worker, runs).
import { createRequire } from 'node:module';
import type * as OrtWeb from 'onnxruntime-web';
import type { Availability, Batch, LoadResult, Outputs, RunResult, Runner, RunnerContext } from '../types.js';

const require = createRequire(import.meta.url);

export class OrtWebNodeRunner implements Runner {
  readonly id = 'ort-web-node-wasm';
  readonly label = 'ORT web wasm in Node';
  readonly family = 'node';
  private ort?: typeof OrtWeb;
  private session?: OrtWeb.InferenceSession;
  private inputName = '';
  private shape: number[] = [];

  async available(): Promise<Availability> {
    try {
      require.resolve('onnxruntime-web');
      return { ok: true };
    } catch {
      return { ok: false, reason: 'onnxruntime-web is not installed' };
    }
  }

  async load(ctx: RunnerContext): Promise<LoadResult> {
    this.ort = (await import('onnxruntime-web')) as unknown as typeof OrtWeb;
    // Threads need workers loading ORT's .mjs from a URL; in Node the wasm build runs on one thread.
    this.ort.env.wasm.numThreads = 1;
    const t0 = performance.now();
    this.session = await this.ort.InferenceSession.create(ctx.model.onnx, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
    this.inputName = this.session.inputNames[0];
    this.shape = ctx.model.sampleShape;
    return {
      sessionMs: performance.now() - t0,
      detail: `onnxruntime-web ${this.ort.env.versions.web ?? ''} wasm (SIMD), 1 thread`,
    };
  }

  async run(batch: Batch, opts: { outputs?: boolean } = {}): Promise<RunResult> {
    const x = new this.ort!.Tensor('float32', batch.data, [batch.n, ...this.shape]);
    const res = await this.session!.run({ [this.inputName]: x });
    if (!opts.outputs) {
      for (const t of Object.values(res)) t.dispose();
      return {};
    }
    const outputs: Outputs = {};
    for (const [name, t] of Object.entries(res)) outputs[name] = Float32Array.from(t.data as Float32Array);
    return { outputs };
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}

export const ortWebNodeWasm = (): Runner => new OrtWebNodeRunner();

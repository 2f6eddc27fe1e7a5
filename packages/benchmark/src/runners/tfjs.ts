// TensorFlow.js on the same weights, built from the Keras .h5 the ONNX model came from: wasm (with our fast
// kernels), cpu (plain JS), webgpu in Node (Dawn via the `webgpu` package) when the trainer offers it, and the
// native tensorflow(-gpu) bindings when installed. Backends come from @semembed/trainer's selection.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { loadWeightsByKerasName, modelFromKerasConfig } from '@semembed/architectures';
import { readKerasH5, selectBackend, type BackendName, type Tf } from '@semembed/trainer';
import { UnavailableError, firstLine } from '../errors.js';
import type { Availability, Batch, LoadResult, Outputs, RunResult, Runner, RunnerContext } from '../types.js';

type TfBackend = Exclude<BackendName, 'auto'> | 'webgpu';

interface WebgpuInit {
  initWebgpu?: (tf: Tf) => Promise<{ description?: string; vendor?: string; architecture?: string }>;
}

export class TfjsRunner implements Runner {
  readonly family = 'node';
  private tf?: Tf;
  private model?: LayersModel;
  private nchw = false;
  private shape: number[] = [];
  private outputNames: string[] = [];
  constructor(
    readonly id: string,
    readonly label: string,
    private readonly backend: TfBackend,
  ) {}

  async available(ctx: RunnerContext): Promise<Availability> {
    if (ctx.model.variant)
      return { ok: false, reason: `variant ${ctx.model.variant} is ONNX only: TensorFlow.js runs MODEL's Keras .h5` };
    if (!ctx.model.h5)
      return {
        ok: false,
        reason: 'MODEL is an .onnx file: TensorFlow.js runs the Keras .h5 (give the .h5 to compare)',
      };
    if (this.backend === 'webgpu') {
      const trainer = (await import('@semembed/trainer')) as unknown as WebgpuInit;
      if (typeof trainer.initWebgpu !== 'function')
        return { ok: false, reason: '@semembed/trainer has no TF.js WebGPU backend in this build' };
    }
    return { ok: true };
  }

  private async selectBackend(): Promise<{ tf: Tf; detail: string }> {
    if (this.backend === 'webgpu') {
      const choice = await selectBackend('cpu');
      const trainer = (await import('@semembed/trainer')) as unknown as WebgpuInit;
      try {
        const a = await trainer.initWebgpu!(choice.tf);
        return {
          tf: choice.tf,
          detail: `TF.js webgpu on ${
            [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'an adapter'
          }`,
        };
      } catch (err) {
        throw new UnavailableError(`TF.js webgpu: ${firstLine(err)}`);
      }
    }
    try {
      const choice = await selectBackend(this.backend);
      const extra = choice.fastKernels.length ? ` (+${choice.fastKernels.length} semembed kernels)` : '';
      return { tf: choice.tf, detail: `TF.js ${choice.tf.version.tfjs} ${choice.name}${extra}` };
    } catch (err) {
      throw new UnavailableError(firstLine(err));
    }
  }

  async load(ctx: RunnerContext): Promise<LoadResult> {
    const { tf, detail } = await this.selectBackend();
    this.tf = tf;
    const t0 = performance.now();
    const h5 = await readKerasH5(ctx.model.h5!);
    const config = h5.attrs.model_config;
    if (!config)
      throw new UnavailableError(`${ctx.model.h5}: a weights-only file (no model_config); TF.js needs the full model`);
    const lambdas = (ctx.model.sidecar.source?.lambdas ?? undefined) as Record<string, string> | undefined;
    this.model = await modelFromKerasConfig(tf, JSON.parse(config), lambdas ? { lambdas: lambdas as never } : {});
    const byName = new Map(h5.layers.flatMap((l) => l.weights.map((w) => [w.name, w] as const)));
    loadWeightsByKerasName(tf, this.model, (n) => byName.get(n), { source: ctx.model.h5 });
    this.nchw = ctx.model.sidecar.input.layout === 'NCHW';
    this.shape = ctx.model.sampleShape;
    // ONNX outputs carry the Keras output layers' names; fall back to the order.
    const keras = this.model.outputNames;
    this.outputNames = keras.map((k, i) => (ctx.model.outputNames.includes(k) ? k : (ctx.model.outputNames[i] ?? k)));
    // The first predict compiles kernels (webgpu shaders): part of loading, as ORT's session creation.
    const warm = this.input({ key: 'warm', data: new Float32Array(ctx.model.sampleSize), n: 1 });
    await this.predict(warm, false);
    warm.dispose();
    return { sessionMs: performance.now() - t0, detail };
  }

  private input(batch: Batch): Tensor {
    const tf = this.tf!;
    const x = tf.tensor(batch.data, [batch.n, ...this.shape]);
    if (!this.nchw) return x;
    const t = tf.transpose(x, [0, 2, 3, 1]);
    x.dispose();
    return t;
  }

  private async predict(x: Tensor, want: boolean): Promise<Outputs> {
    const out = this.model!.predict(x);
    const list = Array.isArray(out) ? out : [out];
    const data = await Promise.all(list.map((t) => t.data()));
    this.tf!.dispose(list);
    const outputs: Outputs = {};
    if (want) data.forEach((d, i) => (outputs[this.outputNames[i]] = Float32Array.from(d as Float32Array)));
    return outputs;
  }

  async run(batch: Batch, opts: { outputs?: boolean } = {}): Promise<RunResult> {
    const x = this.input(batch);
    try {
      const outputs = await this.predict(x, opts.outputs === true);
      return opts.outputs ? { outputs } : {};
    } finally {
      x.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.model?.dispose();
    this.model = undefined;
  }
}

export const tfjsWasm = (): Runner => new TfjsRunner('tfjs-wasm', 'TF.js wasm', 'wasm');
export const tfjsCpu = (): Runner => new TfjsRunner('tfjs-cpu', 'TF.js cpu (plain JS)', 'cpu');
export const tfjsWebgpu = (): Runner => new TfjsRunner('tfjs-webgpu', 'TF.js webgpu (Dawn in Node)', 'webgpu');
export const tfjsTensorflow = (): Runner =>
  new TfjsRunner('tfjs-tensorflow', 'TF.js tensorflow (libtensorflow)', 'tensorflow');
export const tfjsTensorflowGpu = (): Runner =>
  new TfjsRunner('tfjs-tensorflow-gpu', 'TF.js tensorflow-gpu', 'tensorflow-gpu');

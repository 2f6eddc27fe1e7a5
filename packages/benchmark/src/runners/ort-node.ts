// onnxruntime-node runners: the CPU provider on one thread and on all cores, WebGPU (Dawn, bundled with
// onnxruntime-node), CUDA (only when its provider libraries are installed). Sessions come from
// @semembed/runtime-node, so the benchmark measures exactly what `semembed serve` / `embed` run.
import { loadModel, prepareCuda, type Model } from '@semembed/runtime-node';
import { UnavailableError, firstLine } from '../errors.js';
import type { Availability, Batch, LoadResult, Outputs, RunResult, Runner, RunnerContext } from '../types.js';

type Ep = 'cpu' | 'webgpu' | 'cuda';

export class OrtNodeRunner implements Runner {
  readonly family = 'node';
  private model?: Model;
  constructor(
    readonly id: string,
    readonly label: string,
    private readonly ep: Ep,
    /** 0 = one per core (ORT's default). */
    private readonly threads: number,
  ) {}

  async available(): Promise<Availability> {
    if (this.ep === 'cuda') {
      const why = prepareCuda();
      if (why) return { ok: false, reason: why };
    }
    return { ok: true };
  }

  async load(ctx: RunnerContext): Promise<LoadResult> {
    const t0 = performance.now();
    try {
      this.model = await loadModel(ctx.model.onnx, { ep: this.ep, threads: this.threads || undefined, warmup: false });
    } catch (err) {
      const why = firstLine(err);
      if (/No supported adapters|not installed in|providers_cuda|adapter/i.test(why)) throw new UnavailableError(why);
      throw err;
    }
    const sessionMs = performance.now() - t0;
    const threads =
      this.ep === 'cpu' ? `, ${this.threads || ctx.cores} thread${(this.threads || ctx.cores) > 1 ? 's' : ''}` : '';
    let detail = `onnxruntime-node, ${this.model.providers.chosen} EP${threads}`;
    if (this.ep === 'webgpu' && process.env.VK_ICD_FILENAMES?.includes('swiftshader'))
      detail += ' (SwiftShader Vulkan: CPU-emulated)';
    return { sessionMs, detail };
  }

  async run(batch: Batch, opts: { outputs?: boolean } = {}): Promise<RunResult> {
    const res = await this.model!.run(batch.data, batch.n);
    if (!opts.outputs) return {};
    const outputs: Outputs = {};
    for (const [name, t] of Object.entries(res)) outputs[name] = t.data;
    return { outputs };
  }

  async dispose(): Promise<void> {
    await this.model?.release();
    this.model = undefined;
  }
}

export const ortNodeCpu1 = (): Runner => new OrtNodeRunner('ort-node-cpu-1', 'ORT node CPU, 1 thread', 'cpu', 1);
export const ortNodeCpuAll = (): Runner => new OrtNodeRunner('ort-node-cpu', 'ORT node CPU, all cores', 'cpu', 0);
export const ortNodeWebgpu = (): Runner => new OrtNodeRunner('ort-node-webgpu', 'ORT node WebGPU (Dawn)', 'webgpu', 0);
export const ortNodeCuda = (): Runner => new OrtNodeRunner('ort-node-cuda', 'ORT node CUDA', 'cuda', 0);

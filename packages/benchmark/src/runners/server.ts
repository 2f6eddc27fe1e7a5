// `semembed serve` over HTTP on loopback: @semembed/runtime-node's createServer (session in a worker thread,
// dynamic batching), queried through the Open Inference Protocol's binary tensor route. Overlapping queries
// are allowed, so the server scenario measures the batcher.
import { createServer, type SemembedServer } from '@semembed/runtime-node';
import type { Availability, Batch, LoadResult, Outputs, RunResult, Runner, RunnerContext } from '../types.js';

export class ServerRunner implements Runner {
  readonly id = 'server';
  readonly label = 'semembed serve (HTTP, dynamic batching)';
  readonly family = 'server';
  readonly concurrent = true;
  private server?: SemembedServer;
  private url = '';
  private input = '';
  private shape: number[] = [];

  async available(): Promise<Availability> {
    return { ok: true };
  }

  async load(ctx: RunnerContext): Promise<LoadResult> {
    const t0 = performance.now();
    this.server = await createServer({
      models: [{ path: ctx.model.onnx, name: 'bench' }],
      ep: 'cpu',
      host: '127.0.0.1',
      port: 0,
      maxBatchSize: ctx.maxBatchSize,
      maxQueueDelayMs: ctx.maxQueueDelayMs,
      // Room for the largest request the benchmark sends (accuracy chunks of 32, scenario batches up to 256) as
      // binary float32: the server's 16 MiB default is smaller than 32 ImageNet-size images. A limit, not an allocation.
      bodyLimit: Math.max(16 * 2 ** 20, 4 * Math.max(256, ctx.maxBatchSize) * ctx.model.sampleSize + 2 ** 20),
      logger: 'error',
    });
    const base = await this.server.listen();
    this.url = `${base.replace(/\/$/, '')}/v2/models/bench/infer`;
    this.input = ctx.model.sidecar.input.name;
    this.shape = ctx.model.sampleShape;
    return {
      sessionMs: performance.now() - t0,
      detail:
        'createServer on 127.0.0.1, ORT CPU in a worker thread, ' +
        `max_batch_size ${ctx.maxBatchSize}, max_queue_delay_ms ${ctx.maxQueueDelayMs}`,
    };
  }

  async run(batch: Batch, opts: { outputs?: boolean } = {}): Promise<RunResult> {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: this.input,
            shape: [batch.n, ...this.shape],
            datatype: 'FP32',
            parameters: { binary_data_size: batch.data.byteLength },
          },
        ],
      }),
    );
    const body = Buffer.concat([header, Buffer.from(batch.data.buffer, batch.data.byteOffset, batch.data.byteLength)]);
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`server answered ${res.status}: ${text.slice(0, 200)}`);
    if (!opts.outputs) return {};
    const json = JSON.parse(text) as { outputs: { name: string; data: number[] }[] };
    const outputs: Outputs = {};
    for (const o of json.outputs) outputs[o.name] = Float32Array.from(o.data);
    return { outputs };
  }

  async dispose(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }
}

export const server = (): Runner => new ServerRunner();

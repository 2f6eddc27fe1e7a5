import type { Argv } from 'yargs';
import type { ModelSpec } from '@semembed/runtime-node';
import type { Command } from '../index.js';
import { UsageError } from '../errors.js';
import { relaunch } from './embed.js';

interface Args {
  model: string[];
  gallery?: string[];
  host: string;
  port: number;
  ep: string;
  threads?: number;
  cuda_path?: string[];
  max_batch_size: number;
  max_queue_delay_ms: number;
  body_limit_mb: number;
  max_image_mb: number;
  max_image_pixels: number;
  max_images: number;
  request_timeout_ms: number;
  web_root?: string;
  log_level: string;
}

/** `name=value` or `value`. */
function named(spec: string): { name?: string; value: string } {
  const i = spec.indexOf('=');
  return i > 0 ? { name: spec.slice(0, i), value: spec.slice(i + 1) } : { value: spec };
}

/** HTTP server: /v1 embed / classify / search, Open Inference Protocol v2, /metrics. */
export const serveCommand: Command = {
  register: (cli: Argv) =>
    cli.command(
      'serve',
      'Serve ONNX models over HTTP (embed, classify, gallery search, Open Inference Protocol v2, Prometheus metrics)',
      (y) =>
        y
          .option('model', { type: 'string', array: true, demandOption: true, describe: 'Model to serve, [name=]path (model.onnx, model.json or folder); repeat for several' })
          .option('gallery', { type: 'string', array: true, describe: '[model=]features.npy (ids/labels from <features>.ids.txt / .labels.txt) or [model=]G.index (semembed index build --norm) for /v1/search' })
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to bind (0.0.0.0 exposes the server to the network)' })
          .option('port', { type: 'number', default: 8080 })
          .option('ep', { type: 'string', default: 'auto', describe: 'Execution providers to try in order: auto (= cuda,webgpu,cpu) or a list' })
          .option('threads', { type: 'number', describe: 'CPU threads for ONNX Runtime (default: one per core)' })
          .option('cuda_path', { alias: 'cuda-path', type: 'string', array: true, describe: 'Folders with the ORT CUDA provider libraries and CUDA 12 / cuDNN 9' })
          .option('max_batch_size', { alias: 'max-batch-size', type: 'number', default: 32, describe: 'Dynamic batching: most images per batch' })
          .option('max_queue_delay_ms', { alias: 'max-queue-delay-ms', type: 'number', default: 2, describe: 'Dynamic batching: how long a request waits for others to join its batch' })
          .option('body_limit_mb', { alias: 'body-limit-mb', type: 'number', default: 16, describe: 'Largest request body (413 above)' })
          .option('max_image_mb', { alias: 'max-image-mb', type: 'number', default: 8, describe: 'Largest single image file (413 above)' })
          .option('max_image_pixels', { alias: 'max-image-pixels', type: 'number', default: 40_000_000, describe: 'Largest image width x height (413 above)' })
          .option('max_images', { alias: 'max-images', type: 'number', default: 64, describe: 'Most images in one request (413 above)' })
          .option('request_timeout_ms', { alias: 'request-timeout-ms', type: 'number', default: 30_000, describe: 'Requests not answered by then get 503' })
          .option('web_root', { alias: 'web-root', type: 'string', describe: 'Folder served at / (e.g. the browser demo)' })
          .option('log_level', { alias: 'log-level', type: 'string', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] })
          .example('$0 serve --model fashion=models/fashion/model.onnx --gallery fashion=gallery.npy', 'then: curl --data-binary @shoe.png -H "content-type: image/png" localhost:8080/v1/classify'),
      (argv) => run(argv as unknown as Args),
    ),
};

async function run(a: Args): Promise<void> {
  for (const [flag, v, min] of [['port', a.port, 0], ['max_batch_size', a.max_batch_size, 1], ['max_queue_delay_ms', a.max_queue_delay_ms, 0], ['max_images', a.max_images, 1], ['request_timeout_ms', a.request_timeout_ms, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got ${v}`);
  }
  for (const [flag, v] of [['body_limit_mb', a.body_limit_mb], ['max_image_mb', a.max_image_mb], ['max_image_pixels', a.max_image_pixels]] as const) {
    if (!(v > 0)) throw new UsageError(`--${flag} must be positive, got ${v}`);
  }
  const { createServer, cudaPathSetup, describeReport } = await import('@semembed/runtime-node');
  const cuda = cudaPathSetup(a.cuda_path ?? []);
  if (cuda.relaunchEnv) {
    process.exitCode = await relaunch(cuda.relaunchEnv);
    return;
  }
  const models: ModelSpec[] = a.model.map((m) => {
    const { name, value } = named(m);
    return { path: value, ...(name && { name }) };
  });
  const galleries: Record<string, string> = {};
  for (const g of a.gallery ?? []) {
    const { name, value } = named(g);
    if (name) galleries[name] = value;
    else if (models.length === 1) models[0].gallery = value;
    else throw new UsageError(`--gallery ${g}: name the model (--gallery name=features.npy) when serving several`);
  }
  const server = await createServer({
    models,
    galleries,
    host: a.host,
    port: a.port,
    ep: a.ep,
    threads: a.threads,
    cudaProviderDir: cuda.cudaProviderDir,
    maxBatchSize: a.max_batch_size,
    maxQueueDelayMs: a.max_queue_delay_ms,
    bodyLimit: Math.round(a.body_limit_mb * 1024 * 1024),
    maxImageBytes: Math.round(a.max_image_mb * 1024 * 1024),
    maxImagePixels: a.max_image_pixels,
    maxImagesPerRequest: a.max_images,
    requestTimeoutMs: a.request_timeout_ms,
    webRoot: a.web_root,
    logger: a.log_level as 'info',
  });
  for (const m of server.models.values()) console.error(`${m.name}: ${describeReport(m.providers)}`);
  const url = await server.listen();
  console.error(`semembed serve: listening on ${url} (models: ${[...server.models.keys()].join(', ')}); Ctrl-C stops after in-flight requests`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) {
        console.error(`semembed serve: second ${sig}, exiting now`);
        process.exit(130);
      }
      stopping = true;
      console.error(`semembed serve: ${sig}, finishing in-flight requests`);
      server.close().then(resolve, (err) => {
        console.error(`semembed serve: error while closing: ${(err as Error).message}`);
        resolve();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

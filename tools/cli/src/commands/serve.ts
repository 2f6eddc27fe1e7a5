import type { Argv } from 'yargs';
import type { ModelSpec } from '@semembed/runtime-node';
import type { ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';
import { intOption, numberOptions } from '../options.js';
import { relaunch, withRuntimeOptions } from './embed.js';

/** `name=value` or `value`. */
function named(spec: string): { name?: string; value: string } {
  const i = spec.indexOf('=');
  return i > 0 ? { name: spec.slice(0, i), value: spec.slice(i + 1) } : { value: spec };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const command = 'serve';
export const describe =
  'Serve ONNX models over HTTP (embed, classify, gallery search, Open Inference Protocol v2, Prometheus metrics)';

export const builder = (y: Argv) =>
  withRuntimeOptions(
    y
      .option('model', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'Model to serve, [name=]path (model.onnx, model.json or folder); repeat for several',
      })
      .option('gallery', {
        type: 'string',
        array: true,
        describe:
          '[model=]features.npy (ids/labels from <features>.ids.txt / .labels.txt) or [model=]G.index (semembed index build --norm) for /v1/search',
      })
      .option('host', {
        type: 'string',
        default: '127.0.0.1',
        describe: 'Address to bind (0.0.0.0 exposes the server to the network)',
      })
      .option('port', intOption('port', { min: 0, max: 65535, default: 8080, describe: 'TCP port (0: any free one)' })),
  )
    .options(
      numberOptions({
        max_batch_size: { int: true, min: 1, default: 32, describe: 'Dynamic batching: most images per batch' },
        max_queue_delay_ms: {
          int: true,
          min: 0,
          default: 2,
          describe: 'Dynamic batching: how long a request waits for others to join its batch',
        },
        body_limit_mb: { min: 0, aboveMin: true, default: 16, describe: 'Largest request body (413 above)' },
        max_image_mb: { min: 0, aboveMin: true, default: 8, describe: 'Largest single image file (413 above)' },
        max_image_pixels: {
          min: 0,
          aboveMin: true,
          default: 40_000_000,
          describe: 'Largest image width x height (413 above)',
        },
        max_images: { int: true, min: 1, default: 64, describe: 'Most images in one request (413 above)' },
        request_timeout_ms: { int: true, min: 1, default: 30_000, describe: 'Requests not answered by then get 503' },
      }),
    )
    .option('web_root', {
      type: 'string',
      describe: 'Folder served at / (e.g. the browser demo); no dotfiles, no symlinks out of it',
    })
    .option('no_coi', {
      type: 'boolean',
      default: false,
      describe: 'Do not send COOP/COEP with --web_root (the page then runs wasm on one thread)',
    })
    .option('coi', { type: 'boolean', default: true, hidden: true }) // so that --no-coi (yargs' negation) works too
    .option('log_level', { choices: LOG_LEVELS, default: 'info' as const })
    .example(
      '$0 serve --model fashion=models/fashion/model.onnx --gallery fashion=gallery.npy',
      'then: curl --data-binary @shoe.png -H "content-type: image/png" localhost:8080/v1/classify',
    );

/** HTTP server: /v1 embed / classify / search, Open Inference Protocol v2, /metrics. */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
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
    crossOriginIsolation: a.coi && !a.no_coi,
    logger: a.log_level,
  });
  for (const m of server.models.values()) console.error(`${m.name}: ${describeReport(m.providers)}`);
  const url = await server.listen();
  console.error(
    `semembed serve: listening on ${url} (models: ${[...server.models.keys()].join(', ')}); Ctrl-C stops after in-flight requests`,
  );
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

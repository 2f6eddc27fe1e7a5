import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { pino } from 'pino';
import { DynamicBatcher, TimeoutError } from '../batcher.js';
import { RuntimeNodeError } from '../errors.js';
import { loadGallery, type Gallery } from '../gallery.js';
import { loadModel, type Model } from '../model.js';
import type { SessionOptions } from '../providers.js';
import { createContext, type Limits, type Loaded, type ServerContext } from './context.js';
import { createMetrics, metricsPlugin, type Metrics } from './metrics.js';
import type { ModelSpec, SemembedServer, ServerOptions } from './options.js';
import { allowedMethods, type RouteTable } from './routes.js';
import { staticPlugin } from './static.js';
import { v1Plugin } from './v1.js';
import { v2Plugin } from './v2.js';

export type { ModelSpec, SemembedServer, ServerOptions } from './options.js';
export { parseInferRequest, parseBinaryInferRequest } from './v2-tensors.js';

interface PluginDeps {
  ctx: ServerContext;
  metrics: Metrics;
  webRoot?: string;
  crossOriginIsolation: boolean;
}

/** The route plugins, in order: adding a route family is one file plus one line here. */
const PLUGINS: ((app: FastifyInstance, d: PluginDeps) => PromiseLike<unknown> | undefined)[] = [
  (app, d) => app.register(v1Plugin, { ctx: d.ctx }),
  (app, d) => app.register(v2Plugin, { ctx: d.ctx }),
  (app, d) => app.register(metricsPlugin, { metrics: d.metrics }),
  (app, d) =>
    d.webRoot
      ? app.register(staticPlugin, { root: d.webRoot, crossOriginIsolation: d.crossOriginIsolation })
      : undefined,
];

function sessionOptions(o: ServerOptions): SessionOptions {
  const { ep, threads, interOpThreads, graphOptimizationLevel, cudaProviderDir, deviceId } = o;
  return { ep, threads, interOpThreads, graphOptimizationLevel, cudaProviderDir, deviceId };
}

const isModel = (spec: ModelSpec | Model): spec is Model => typeof (spec as Model).run === 'function';

/** Loads the models (or takes loaded ones) with their batchers and galleries; releases what it loaded on failure. */
async function loadAll(
  opts: ServerOptions,
  metrics: Metrics,
  logger: pino.Logger,
): Promise<{ loaded: Map<string, Loaded>; owned: Model[] }> {
  const loaded = new Map<string, Loaded>();
  const owned: Model[] = []; // models this server loaded, and so releases
  try {
    for (const spec of opts.models) {
      const model = isModel(spec)
        ? spec
        : await loadModel(spec.path, {
            ...sessionOptions(opts),
            name: spec.name,
            maxImagePixels: opts.maxImagePixels,
            worker: opts.worker ?? true,
          });
      if (!isModel(spec)) owned.push(model);
      if (loaded.has(model.name))
        throw new RuntimeNodeError(`serve: two models are named "${model.name}"; name them (--model name=path)`);
      logger.info(
        { model: model.name, file: model.files.onnx, ep: model.providers.chosen, attempts: model.providers.attempts },
        `model ${model.name} on ${model.providers.chosen}`,
      );
      if (!model.embeddingOutput) {
        logger.warn(
          { model: model.name },
          `model ${model.name} has no embedding output: /v1/classify and /v2 infer only (/v1/embed and /v1/search answer 400)`,
        );
      }
      const name = model.name;
      const batcher = new DynamicBatcher(model, {
        maxBatchSize: opts.maxBatchSize,
        maxQueueDelayMs: opts.maxQueueDelayMs,
        onBatch: ({ size, seconds, ok }) => {
          metrics.batchSizes.observe({ model: name }, size);
          metrics.inferLatency.observe({ model: name }, seconds);
          if (!ok) metrics.inferErrors.inc({ model: name });
        },
        onQueueDepth: (d) => metrics.queueDepth.set({ model: name }, d),
      });
      const g = (isModel(spec) ? undefined : spec.gallery) ?? opts.galleries?.[name];
      const gallery: Gallery | undefined =
        g === undefined
          ? undefined
          : typeof g === 'object' && 'search' in g
            ? g
            : await loadGallery(g, (msg) => logger.warn(msg));
      if (gallery) {
        if (!model.embeddingOutput)
          throw new RuntimeNodeError(`--gallery for ${name}: the model has no embedding output to search it with`);
        if (model.embeddingOutput.dim !== undefined && gallery.dim !== model.embeddingOutput.dim) {
          throw new RuntimeNodeError(
            `gallery for ${name} has ${gallery.dim}-dimensional features, the model's embedding ${model.embeddingOutput.dim}`,
          );
        }
        const msg = `gallery for ${name}: ${gallery.size} items, ${gallery.engine} search`;
        if (gallery.size === 0) logger.warn({ model: name }, `${msg}: empty, /v1/search answers 404`);
        else logger.info({ model: name, size: gallery.size, engine: gallery.engine }, msg);
      }
      loaded.set(name, { model, batcher, gallery });
    }
  } catch (err) {
    await Promise.all(owned.map((m) => m.release()));
    throw err;
  }
  return { loaded, owned };
}

function checkPort(port: unknown): number {
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
    throw new RuntimeNodeError(`--port ${String(port)}: a port is an integer from 0 to 65535`);
  }
  return port as number;
}

/** Builds the fastify app with all routes, loads the models and galleries; call listen() to serve. */
export async function createServer(opts: ServerOptions): Promise<SemembedServer> {
  if (!opts.models || opts.models.length === 0) throw new RuntimeNodeError('serve: no model given (--model)');
  const host = opts.host ?? '127.0.0.1';
  const port = checkPort(opts.port ?? 8080);
  const limits: Limits = {
    bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024,
    maxImageBytes: opts.maxImageBytes ?? 8 * 1024 * 1024,
    maxImages: opts.maxImagesPerRequest ?? 64,
    maxInferBatch: opts.maxInferBatch ?? 1024,
    timeoutMs: opts.requestTimeoutMs ?? 30_000,
    maxImagePixels: opts.maxImagePixels,
  };
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 10_000;
  const headersTimeoutMs = opts.headersTimeoutMs ?? 10_000;
  const logger =
    typeof opts.logger === 'object' ? opts.logger : pino({ level: opts.logger ?? 'info' }, pino.destination(2));

  // Checked before any model loads: a failure after loading would have to tear the sessions down again.
  const webRoot = opts.webRoot ? resolve(opts.webRoot) : undefined;
  if (webRoot && (!existsSync(webRoot) || !statSync(webRoot).isDirectory()))
    throw new RuntimeNodeError(`--web_root ${opts.webRoot}: not a folder`);

  const metrics = createMetrics();
  const { loaded, owned } = await loadAll(opts, metrics, logger);

  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    bodyLimit: limits.bodyLimit,
    requestTimeout: limits.timeoutMs,
    // Slow-header clients are cut after headersTimeoutMs (Node checks every connectionsCheckingInterval).
    http: { headersTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, headersTimeoutMs) },
    genReqId: () => randomUUID(),
    forceCloseConnections: true,
    return503OnClosing: true,
    // Two info lines per request drown everything else under load; they are there at debug level.
    logController: new LogController({ disableRequestLogging: logger.level !== 'debug' && logger.level !== 'trace' }),
  });
  let closing = false;
  let inFlight = 0;
  const ctx = createContext(loaded, limits, () => closing);

  const routes: RouteTable = [];
  app.addHook('onRoute', (r) => {
    if (!r.url.includes('*')) routes.push({ url: r.url, methods: ([] as string[]).concat(r.method) });
  });
  app.addHook('onRequest', async (req, reply) => {
    inFlight++;
    reply.raw.once('close', () => inFlight--);
    if (closing) {
      reply.header('connection', 'close');
      return reply.code(503).send({ error: 'the server is shutting down' });
    }
  });
  // During shutdown, answers close their keep-alive connection so the drain need not wait for idle clients.
  // After a 413 Node reads and discards the rest of the body (so the client sees the answer); a body of unknown
  // length or far over the limit is cut off instead by closing the connection.
  app.addHook('onSend', async (req, reply, payload) => {
    const declared = Number(req.headers['content-length']);
    const huge = reply.statusCode === 413 && !(declared <= 2 * limits.bodyLimit);
    if (closing || huge) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.httpLatency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: err.message });
    if (err instanceof TimeoutError) {
      req.log.warn({ reqId: req.id }, err.message);
      return reply.code(status).send({ error: err.message });
    }
    // Not the client's fault: log everything under the request id and give the client only the id.
    req.log.error({ err, reqId: req.id }, `internal error ${req.id}`);
    return reply.code(500).send({ error: `internal error (id ${req.id})`, id: req.id });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const allow = allowedMethods(routes, path);
    if (allow.length > 0) {
      reply.header('allow', allow.join(', '));
      return reply.code(405).send({ error: `${req.method} is not allowed on ${path} (allowed: ${allow.join(', ')})` });
    }
    return reply.code(404).send({ error: `no route ${req.method} ${path}` });
  });

  await app.register(multipart, {
    limits: {
      fileSize: limits.maxImageBytes,
      files: limits.maxImages,
      fields: 16,
      fieldSize: 1024,
      parts: limits.maxImages + 16,
    },
  });
  app.addContentTypeParser(
    ['image/jpeg', 'image/png', 'image/webp', 'application/octet-stream'],
    { parseAs: 'buffer' },
    (_req, body, done) => done(null, body),
  );
  const deps: PluginDeps = { ctx, metrics, webRoot, crossOriginIsolation: opts.crossOriginIsolation ?? true };
  for (const plugin of PLUGINS) await plugin(app, deps);

  app.addHook('onClose', async () => {
    await Promise.all([...loaded.values()].map((l) => l.batcher.drain()));
    await Promise.all(owned.map((m) => m.release()));
  });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing = true;
    closed ??= (async () => {
      // Still listening meanwhile: what arrives now gets a 503 instead of a refused connection.
      const deadline = Date.now() + shutdownTimeoutMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (inFlight > 0)
        logger.warn(`shutdown: ${inFlight} request(s) still running after ${shutdownTimeoutMs} ms; cutting them off`);
      await app.close(); // forceCloseConnections: also slow-header and idle keep-alive connections
    })();
    return closed;
  };

  return {
    app,
    models: new Map([...loaded].map(([k, v]) => [k, v.model])),
    metrics: metrics.registry,
    async listen() {
      try {
        return await app.listen({ host, port });
      } catch (err) {
        // Release the sessions (worker threads would keep the process alive) and say what went wrong.
        await close();
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
          throw new RuntimeNodeError(`cannot listen on ${host}:${port} (${code})`, 500);
        }
        throw err;
      }
    },
    close,
  };
}

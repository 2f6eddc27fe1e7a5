import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DynamicBatcher, TimeoutError } from './batcher.js';
import { ImageError, RuntimeNodeError, TensorShapeError } from './errors.js';
import { loadGallery, type Gallery, type GalleryFiles } from './gallery.js';
import { loadModel, type Model, type OutputTensor } from './model.js';
import type { SessionOptions } from './providers.js';

export interface ModelSpec {
  /** Path to model.onnx, model.json or their folder. */
  path: string;
  /** Name used in URLs (default: derived from the path). */
  name?: string;
  /** Gallery for /v1/search with this model: features .npy (+ ids/labels text files beside it). */
  gallery?: string | GalleryFiles;
}

export interface ServerOptions extends SessionOptions {
  /** Models to serve: specs to load, or models already loaded with loadModel(). The first is the default. */
  models: (ModelSpec | Model)[];
  /** Galleries by model name (alternative to ModelSpec.gallery; also for preloaded models). */
  galleries?: Record<string, string | GalleryFiles | Gallery>;
  /** Default 127.0.0.1: only this machine can reach the server unless told otherwise. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  /** Largest request body in bytes (default 16 MiB); larger gives 413. */
  bodyLimit?: number;
  /** Largest single image in bytes (default 8 MiB); larger gives 413. */
  maxImageBytes?: number;
  /** Largest image in pixels, width x height (default 40 M); larger gives 413. */
  maxImagePixels?: number;
  /** Most images in one request (default 64); more gives 413. */
  maxImagesPerRequest?: number;
  /** Most samples in one /v2 infer request (default 1024). */
  maxInferBatch?: number;
  /** A request not answered within this many ms gets 503 (default 30 000). */
  requestTimeoutMs?: number;
  /** Folder served at / (e.g. the browser demo page). */
  webRoot?: string;
  /** A pino logger, or the level for the default one on stderr (default 'info'). */
  logger?: Logger | LevelWithSilent;
  /** Run each model's session in a worker thread so inference never blocks the event loop (default true). */
  worker?: boolean;
}

function sessionOptions(o: ServerOptions): SessionOptions {
  const { ep, threads, interOpThreads, graphOptimizationLevel, cudaProviderDir, deviceId } = o;
  return { ep, threads, interOpThreads, graphOptimizationLevel, cudaProviderDir, deviceId };
}

export interface SemembedServer {
  app: FastifyInstance;
  models: Map<string, Model>;
  metrics: Registry;
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful: stops accepting, finishes in-flight requests, then releases the models. */
  close(): Promise<void>;
}

const V2_DATATYPES: Record<string, (n: number) => ArrayLike<number>> = { FP32: (n) => new Float32Array(n) };

interface Loaded {
  model: Model;
  batcher: DynamicBatcher;
  gallery?: Gallery;
}

/** Builds the fastify app with all routes, loads the models and galleries; call listen() to serve. */
export async function createServer(opts: ServerOptions): Promise<SemembedServer> {
  if (!opts.models || opts.models.length === 0) throw new RuntimeNodeError('serve: no model given (--model)');
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  const bodyLimit = opts.bodyLimit ?? 16 * 1024 * 1024;
  const maxImageBytes = opts.maxImageBytes ?? 8 * 1024 * 1024;
  const maxImages = opts.maxImagesPerRequest ?? 64;
  const maxInferBatch = opts.maxInferBatch ?? 1024;
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const logger = typeof opts.logger === 'object' ? opts.logger : pino({ level: opts.logger ?? 'info' }, pino.destination(2));

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'semembed_' });
  const httpRequests = new Counter({ name: 'semembed_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const httpLatency = new Histogram({
    name: 'semembed_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  const batchSizes = new Histogram({ name: 'semembed_batch_size', help: 'Samples per inference batch', labelNames: ['model'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers: [registry] });
  const inferLatency = new Histogram({ name: 'semembed_inference_duration_seconds', help: 'Time of one inference batch', labelNames: ['model'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] });
  const inferErrors = new Counter({ name: 'semembed_inference_errors_total', help: 'Failed inference batches', labelNames: ['model'], registers: [registry] });
  const queueDepth = new Gauge({ name: 'semembed_queue_depth', help: 'Samples waiting for a batch', labelNames: ['model'], registers: [registry] });

  // Checked before any model loads: a failure after loading would have to tear the sessions down again.
  const webRoot = opts.webRoot ? resolve(opts.webRoot) : undefined;
  if (webRoot && (!existsSync(webRoot) || !statSync(webRoot).isDirectory())) throw new RuntimeNodeError(`--web_root ${opts.webRoot}: not a folder`);

  const loaded = new Map<string, Loaded>();
  const owned: Model[] = []; // models this server loaded, and so releases
  try {
    for (const spec of opts.models) {
      const isModel = typeof (spec as Model).run === 'function';
      const model = isModel ? (spec as Model) : await loadModel((spec as ModelSpec).path, { ...sessionOptions(opts), name: (spec as ModelSpec).name, maxImagePixels: opts.maxImagePixels, worker: opts.worker ?? true });
      if (!isModel) owned.push(model);
      if (loaded.has(model.name)) throw new RuntimeNodeError(`serve: two models are named "${model.name}"; name them (--model name=path)`);
      logger.info({ model: model.name, file: model.files.onnx, ep: model.providers.chosen, attempts: model.providers.attempts }, `model ${model.name} on ${model.providers.chosen}`);
      const batcher = new DynamicBatcher(model, {
        maxBatchSize: opts.maxBatchSize,
        maxQueueDelayMs: opts.maxQueueDelayMs,
        onBatch: ({ size, seconds, ok }) => {
          batchSizes.observe({ model: model.name }, size);
          inferLatency.observe({ model: model.name }, seconds);
          if (!ok) inferErrors.inc({ model: model.name });
        },
        onQueueDepth: (d) => queueDepth.set({ model: model.name }, d),
      });
      const g = (isModel ? undefined : (spec as ModelSpec).gallery) ?? opts.galleries?.[model.name];
      const gallery = g === undefined ? undefined : typeof g === 'object' && 'search' in g ? g : await loadGallery(g, (msg) => logger.warn(msg));
      if (gallery) logger.info({ model: model.name, size: gallery.size, engine: gallery.engine }, `gallery for ${model.name}: ${gallery.size} items, ${gallery.engine} search`);
      if (gallery && model.embeddingOutput?.dim !== undefined && gallery.dim !== model.embeddingOutput.dim) {
        throw new RuntimeNodeError(`gallery for ${model.name} has ${gallery.dim}-dimensional features, the model's embedding ${model.embeddingOutput.dim}`);
      }
      loaded.set(model.name, { model, batcher, gallery });
    }
  } catch (err) {
    await Promise.all(owned.map((m) => m.release()));
    throw err;
  }
  const defaultModel = loaded.keys().next().value as string;

  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    bodyLimit,
    requestTimeout: timeoutMs,
    genReqId: () => randomUUID(),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Two info lines per request drown everything else under load; they are there at debug level.
    logController: new LogController({ disableRequestLogging: logger.level !== 'debug' && logger.level !== 'trace' }),
  });
  let closing = false;

  await app.register(multipart, {
    limits: { fileSize: maxImageBytes, files: maxImages, fields: 16, fieldSize: 1024, parts: maxImages + 16 },
  });
  app.addContentTypeParser(['image/jpeg', 'image/png', 'image/webp', 'application/octet-stream'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // During shutdown, answers close their keep-alive connection so server.close() need not wait for the
  // client's idle timeout.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    httpLatency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: err.message });
    }
    if (err instanceof TimeoutError) {
      req.log.warn({ reqId: req.id }, err.message);
      return reply.code(status).send({ error: err.message });
    }
    // Not the client's fault: log everything under the request id and give the client only the id.
    req.log.error({ err, reqId: req.id }, `internal error ${req.id}`);
    return reply.code(500).send({ error: `internal error (id ${req.id})`, id: req.id });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  const getModel = (name: string | undefined): Loaded => {
    const key = name ?? defaultModel;
    const l = loaded.get(key);
    if (!l) throw Object.assign(new RuntimeNodeError(`unknown model "${key}" (served: ${[...loaded.keys()].join(', ')})`, 404));
    return l;
  };

  /** Runs n preprocessed samples through the model's batcher with the request deadline. */
  const infer = (l: Loaded, input: Float32Array, n: number): Promise<Record<string, OutputTensor>> => {
    const signal = AbortSignal.timeout(timeoutMs);
    return l.batcher.submit(input, n, signal).catch((err) => {
      if (signal.aborted && err === signal.reason) throw new TimeoutError(`inference for ${l.model.name} did not finish within ${timeoutMs} ms`);
      throw err;
    });
  };

  interface ImageRequest {
    model?: string;
    images: Buffer[];
    sources: string[];
    topK?: number;
  }

  const readImages = async (req: FastifyRequest): Promise<ImageRequest> => {
    const q = req.query as Record<string, string | undefined>;
    const out: ImageRequest = { model: q.model, images: [], sources: [], topK: q.top_k !== undefined ? parseTopK(q.top_k) : undefined };
    const ct = (req.headers['content-type'] ?? '').toLowerCase();
    if (req.isMultipart()) {
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          if (out.images.length >= maxImages) throw new ImageError(`more than ${maxImages} images in one request`, 413);
          out.images.push(await part.toBuffer());
          out.sources.push(part.filename ? `file ${part.filename}` : `field ${part.fieldname}`);
        } else if (part.fieldname === 'model') out.model = String(part.value);
        else if (part.fieldname === 'top_k') out.topK = parseTopK(String(part.value));
      }
    } else if (Buffer.isBuffer(req.body)) {
      out.images.push(req.body);
      out.sources.push('request body');
    } else if (ct.startsWith('application/json')) {
      const body = req.body as Record<string, unknown> | null;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ImageError('JSON body must be an object with "image" or "images" (base64)');
      if (typeof body.model === 'string') out.model = body.model;
      if (body.top_k !== undefined) out.topK = parseTopK(body.top_k);
      const list = body.images !== undefined ? body.images : body.image !== undefined ? [body.image] : undefined;
      if (!Array.isArray(list)) throw new ImageError('JSON body needs "image" (base64 string) or "images" (array of base64 strings)');
      if (list.length > maxImages) throw new ImageError(`${list.length} images in one request, the limit is ${maxImages}`, 413);
      list.forEach((s, i) => {
        if (typeof s !== 'string') throw new ImageError(`images[${i}] is not a base64 string`);
        const b64 = s.startsWith('data:') ? s.slice(s.indexOf(',') + 1) : s;
        if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64.replace(/\s+/g, ''))) throw new ImageError(`images[${i}] is not valid base64`);
        const buf = Buffer.from(b64, 'base64');
        if (buf.length > maxImageBytes) throw new ImageError(`images[${i}] is ${buf.length} bytes, the limit is ${maxImageBytes}`, 413);
        out.images.push(buf);
        out.sources.push(`images[${i}]`);
      });
    } else {
      throw new ImageError(`send images as multipart/form-data, a raw image/jpeg|png|webp body, or JSON {"images": [base64...]} (got ${ct || 'no content type'})`, 415);
    }
    if (out.images.length === 0) throw new ImageError('no image in the request');
    for (const [i, img] of out.images.entries()) {
      if (img.length > maxImageBytes) throw new ImageError(`${out.sources[i]} is ${img.length} bytes, the limit is ${maxImageBytes}`, 413);
    }
    return out;
  };

  const embedRequest = async (req: FastifyRequest) => {
    const r = await readImages(req);
    const l = getModel(r.model);
    const input = await l.model.preprocess(r.images, { sources: r.sources, maxImagePixels: opts.maxImagePixels });
    const outputs = await infer(l, input, r.images.length);
    return { l, r, results: l.model.interpret(outputs, r.images.length) };
  };

  app.post('/v1/embed', async (req) => {
    const { l, results } = await embedRequest(req);
    return { model: l.model.name, dim: results[0].embedding.length, embeddings: results.map((x) => Array.from(x.embedding)) };
  });

  app.post('/v1/classify', async (req) => {
    const { l, r, results } = await embedRequest(req);
    const k = r.topK ?? 5;
    if (!l.model.probOutput && !l.model.classEmbedding) throw new RuntimeNodeError(`model ${l.model.name} has neither a probabilities output nor class embeddings`);
    return {
      model: l.model.name,
      results: results.map((x) => ({
        ...(x.probabilities && { classes: l.model.topClasses(x.probabilities, k).map(({ score, ...c }) => ({ ...c, probability: score })) }),
        ...(l.model.classEmbedding && { nearest: l.model.nearestClasses(x.embedding, k).map(({ score, ...c }) => ({ ...c, similarity: score })) }),
      })),
    };
  });

  app.post('/v1/search', async (req) => {
    const { l, r, results } = await embedRequest(req);
    if (!l.gallery) throw new RuntimeNodeError(`model ${l.model.name} has no gallery (start the server with --gallery ${l.model.name}=features.npy)`, 404);
    const k = r.topK ?? 10;
    return { model: l.model.name, engine: l.gallery.engine, results: results.map((x) => ({ matches: l.gallery!.search(x.embedding, k) })) };
  });

  app.get('/v1/models', async () => ({
    models: [...loaded.values()].map(({ model, gallery }) => ({
      name: model.name,
      executionProvider: model.providers.chosen,
      input: model.sidecar.input,
      preprocessing: model.sidecar.preprocessing,
      outputs: model.sidecar.outputs,
      classes: model.sidecar.classes?.length ?? 0,
      gallery: gallery ? { size: gallery.size, engine: gallery.engine } : null,
    })),
  }));

  // ---- Open Inference Protocol (KServe v2) ----
  app.get('/v2', async () => ({ name: 'semembed', version: '0.1.0', extensions: [] }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => {
    if (closing) return reply.code(503).send({ ready: false });
    return { ready: true };
  });
  app.get('/v2/models/:name', async (req) => {
    const { model } = getModel((req.params as { name: string }).name);
    return {
      name: model.name,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: model.inputName, datatype: 'FP32', shape: [-1, ...model.sampleShape] }],
      outputs: model.session.outputNames.map((name) => {
        const o = model.sidecar.outputs.find((x) => x.name === name);
        return { name, datatype: 'FP32', shape: [-1, ...(o?.dim !== undefined ? [o.dim] : [])] };
      }),
    };
  });
  app.get('/v2/models/:name/versions/:version', async (req, reply) => reply.redirect(`/v2/models/${encodeURIComponent((req.params as { name: string }).name)}`));
  app.get('/v2/models/:name/ready', async (req, reply) => {
    getModel((req.params as { name: string }).name);
    if (closing) return reply.code(503).send({ name: (req.params as { name: string }).name, ready: false });
    return { name: (req.params as { name: string }).name, ready: true };
  });
  app.post('/v2/models/:name/infer', async (req) => {
    const l = getModel((req.params as { name: string }).name);
    const { input, n, outputs, id } = Buffer.isBuffer(req.body)
      ? parseBinaryInferRequest(req.body, req.headers['inference-header-content-length'], l.model, maxInferBatch)
      : parseInferRequest(req.body, l.model, maxInferBatch);
    const result = await infer(l, input, n);
    return {
      model_name: l.model.name,
      model_version: '1',
      ...(id !== undefined && { id }),
      outputs: outputs.map((name) => ({ name, datatype: 'FP32', shape: result[name].shape, data: Array.from(result[name].data) })),
    };
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  if (webRoot) await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: ['index.html'], wildcard: true });

  app.addHook('onClose', async () => {
    await Promise.all([...loaded.values()].map((l) => l.batcher.drain()));
    await Promise.all(owned.map((m) => m.release()));
  });

  return {
    app,
    models: new Map([...loaded].map(([k, v]) => [k, v.model])),
    metrics: registry,
    async listen() {
      try {
        return await app.listen({ host, port });
      } catch (err) {
        // Release the sessions (worker threads would keep the process alive) and say what went wrong.
        closing = true;
        await app.close();
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new RuntimeNodeError(`cannot listen on ${host}:${port} (${code})`, 500);
        throw err;
      }
    },
    async close() {
      closing = true;
      await app.close();
    },
  };
}

function parseTopK(v: unknown): number {
  const k = Number(v);
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new RuntimeNodeError(`top_k must be an integer 1..1000, got ${JSON.stringify(v)}`);
  return k;
}

/** Checks an Open Inference Protocol infer request against the model; every failure says what was wrong. */
/**
 * The Open Inference Protocol's binary tensor extension: a JSON header of `Inference-Header-Content-Length`
 * bytes, then the raw little-endian FP32 tensor; the input says `parameters: { binary_data_size }` instead of
 * `data`. Saves parsing thousands of JSON numbers per request.
 */
export function parseBinaryInferRequest(body: Buffer, headerLength: unknown, model: Model, maxBatch: number): ReturnType<typeof parseInferRequest> {
  const len = Number(headerLength);
  if (headerLength === undefined || !Number.isInteger(len) || len < 2 || len > body.length) {
    throw new TensorShapeError(`binary infer request needs an Inference-Header-Content-Length header between 2 and the body size ${body.length}, got ${JSON.stringify(headerLength ?? null)}`);
  }
  let header: { inputs?: { parameters?: { binary_data_size?: unknown }; data?: unknown }[] };
  try {
    header = JSON.parse(body.subarray(0, len).toString('utf8'));
  } catch (err) {
    throw new TensorShapeError(`the first ${len} bytes are not the JSON inference header (${(err as Error).message})`);
  }
  const t = Array.isArray(header?.inputs) && header.inputs.length === 1 ? header.inputs[0] : undefined;
  const size = t?.parameters?.binary_data_size;
  if (!t || !Number.isInteger(size)) throw new TensorShapeError('binary infer request: the input needs parameters.binary_data_size');
  if (size !== body.length - len) throw new TensorShapeError(`binary_data_size ${size} does not match the ${body.length - len} bytes after the header`);
  if ((size as number) % 4 !== 0) throw new TensorShapeError(`binary_data_size ${size} is not a multiple of 4 (FP32)`);
  // Validate name / shape / datatype with the JSON path; the values come from the binary part.
  const count = (size as number) / 4;
  const validated = parseInferRequest({ ...header, inputs: [{ ...t, data: [] }] }, model, maxBatch, count);
  const input = new Float32Array(count);
  const bytes = body.subarray(len);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const v = view.getFloat32(i * 4, true);
    if (!Number.isFinite(v)) throw new TensorShapeError(`binary data[${i}] is ${v}, not a finite number`);
    input[i] = v;
  }
  return { ...validated, input };
}

export function parseInferRequest(
  body: unknown,
  model: Model,
  maxBatch: number,
  binaryCount?: number,
): { input: Float32Array; n: number; outputs: string[]; id?: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new TensorShapeError('infer request must be a JSON object with "inputs"');
  const b = body as { id?: unknown; inputs?: unknown; outputs?: unknown };
  if (!Array.isArray(b.inputs) || b.inputs.length !== 1) throw new TensorShapeError(`"inputs" must hold exactly one tensor (the model's input "${model.inputName}")`);
  const t = b.inputs[0] as { name?: unknown; shape?: unknown; datatype?: unknown; data?: unknown };
  if (t.name !== model.inputName) throw new TensorShapeError(`input is named ${JSON.stringify(t.name)}, the model's input is "${model.inputName}"`);
  if (typeof t.datatype !== 'string' || !V2_DATATYPES[t.datatype]) throw new TensorShapeError(`datatype ${JSON.stringify(t.datatype)} is not supported (FP32 only)`);
  const want = `[-1, ${model.sampleShape.join(', ')}]`;
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d > 0)) throw new TensorShapeError(`shape ${JSON.stringify(t.shape)} is not a list of positive integers; expected ${want}`);
  const shape = t.shape as number[];
  if (shape.length !== model.sampleShape.length + 1 || shape.slice(1).some((d, i) => d !== model.sampleShape[i])) {
    throw new TensorShapeError(`shape [${shape.join(', ')}] does not fit the model's input ${want}`);
  }
  const n = shape[0];
  if (n > maxBatch) throw new RuntimeNodeError(`batch of ${n} is more than the limit of ${maxBatch}`, 413);
  if (binaryCount !== undefined) {
    if (binaryCount !== n * model.sampleSize) throw new TensorShapeError(`binary data has ${binaryCount} values, shape [${shape.join(', ')}] needs ${n * model.sampleSize}`);
    return { input: new Float32Array(0), n, outputs: inferOutputs(b.outputs, model), ...(typeof b.id === 'string' && { id: b.id }) };
  }
  const flat = Array.isArray(t.data) ? (t.data as unknown[]).flat(Infinity) : undefined;
  if (!flat) throw new TensorShapeError('"data" must be an array of numbers');
  if (flat.length !== n * model.sampleSize) throw new TensorShapeError(`data has ${flat.length} values, shape [${shape.join(', ')}] needs ${n * model.sampleSize}`);
  const input = new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TensorShapeError(`data[${i}] is ${JSON.stringify(v)}, not a finite number`);
    input[i] = v;
  }
  const outputs = inferOutputs(b.outputs, model);
  return { input, n, outputs, ...(typeof b.id === 'string' && { id: b.id }) };
}

function inferOutputs(requested: unknown, model: Model): string[] {
  if (requested === undefined) return model.session.outputNames as string[];
  if (!Array.isArray(requested)) throw new TensorShapeError('"outputs" must be a list of {name}');
  return requested.map((o, i) => {
    const name = (o as { name?: unknown })?.name;
    if (typeof name !== 'string' || !model.session.outputNames.includes(name)) throw new TensorShapeError(`outputs[${i}]: model has no output ${JSON.stringify(name)} (it has ${model.session.outputNames.join(', ')})`);
    return name;
  });
}

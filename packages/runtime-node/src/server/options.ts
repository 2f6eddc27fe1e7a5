import type { FastifyInstance } from 'fastify';
import type { Logger, LevelWithSilent } from 'pino';
import type { Registry } from 'prom-client';
import type { GalleryFiles, Gallery } from '../gallery.js';
import type { Model } from '../model.js';
import type { SessionOptions } from '../providers.js';

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
  /** Largest request body in bytes, every content type incl. multipart (default 16 MiB); larger gives 413. */
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
  /** Request headers not complete within this many ms: the connection is closed (default 10 000). */
  headersTimeoutMs?: number;
  /** close() waits at most this long for in-flight requests before it cuts the connections (default 10 000). */
  shutdownTimeoutMs?: number;
  /** Folder served at / (e.g. the browser demo page). */
  webRoot?: string;
  /** Send COOP/COEP with the --web_root files so the page is cross-origin isolated (wasm threads); default true. */
  crossOriginIsolation?: boolean;
  /** A pino logger, or the level for the default one on stderr (default 'info'). */
  logger?: Logger | LevelWithSilent;
  /** Run each model's session in a worker thread so inference never blocks the event loop (default true). */
  worker?: boolean;
}

export interface SemembedServer {
  app: FastifyInstance;
  models: Map<string, Model>;
  metrics: Registry;
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /**
   * Graceful and bounded: readiness turns 503 and new requests get 503, in-flight ones finish (at most
   * shutdownTimeoutMs), connections without a request in flight (slow headers, idle keep-alive) are cut,
   * then the models are released.
   */
  close(): Promise<void>;
}

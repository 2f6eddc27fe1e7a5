import * as ort from 'onnxruntime-web';
import { OutputHead, SidecarError, parseSidecarJson, type ImageResult, type OutputTensor } from '@semembed/model';
import { ModelLoadError, firstLine } from './errors.js';
import { checkModelHash, type Integrity } from './integrity.js';
import { preprocessImage, type ImageInput, type PreprocessOptions } from './preprocess.js';
import { validateSidecar, type Sidecar } from './sidecar.js';

export { ort };

export type WebExecutionProvider = 'webgpu' | 'wasm';
export const DEFAULT_EP_ORDER: WebExecutionProvider[] = ['webgpu', 'wasm'];

export interface ProviderAttempt {
  ep: WebExecutionProvider;
  ok: boolean;
  /** Why it was taken or skipped, in words a user understands. */
  reason: string;
}

export interface ProviderReport {
  chosen: WebExecutionProvider;
  attempts: ProviderAttempt[];
  /** wasm threads in use (1 unless the page is cross-origin isolated). */
  threads: number;
  crossOriginIsolated: boolean;
  /** The WebGPU adapter, when one was found ("google swiftshader" = CPU emulation). */
  adapter?: string;
}

export interface LoadModelOptions {
  /** Providers to try in order (default webgpu, then wasm). */
  executionProviders?: WebExecutionProvider[];
  /** wasm threads; default all cores when cross-origin isolated (else 1: SharedArrayBuffer is off). */
  numThreads?: number;
  /** Where ort-wasm-simd-threaded.jsep.{mjs,wasm} are served (default: next to the bundle, as Vite emits them). */
  wasmPaths?: string;
  /** Run one sample of zeros at load, so a provider that cannot run the model fails here, not on the first image. */
  warmup?: boolean;
  name?: string;
  maxImagePixels?: number;
  fetch?: typeof fetch;
}

export type { OutputTensor, ClassScore, ImageResult } from '@semembed/model';

export interface Timing {
  preprocessMs: number;
  inferenceMs: number;
}

let wasmConfigured: { threads: number } | undefined;

/** ORT reads its wasm settings once, at the first session: later calls cannot change the thread count. */
function configureWasm(opts: LoadModelOptions): number {
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 1 : 1;
  const threads = isolated ? Math.max(1, Math.floor(opts.numThreads ?? cores)) : 1;
  if (!wasmConfigured) {
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.simd = true;
    if (opts.wasmPaths) ort.env.wasm.wasmPaths = opts.wasmPaths;
    ort.env.logLevel = 'error';
    wasmConfigured = { threads };
  }
  return wasmConfigured.threads;
}

async function webgpuAdapter(): Promise<{ ok: true; name: string } | { ok: false; reason: string }> {
  const gpu = (
    globalThis.navigator as Navigator & {
      gpu?: {
        requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null>;
      };
    }
  )?.gpu;
  if (!gpu) {
    const secure = typeof isSecureContext === 'undefined' || isSecureContext;
    return {
      ok: false,
      reason: secure
        ? 'navigator.gpu is missing (this browser has WebGPU off; Chromium on Linux needs --enable-unsafe-webgpu)'
        : 'navigator.gpu is missing: the page is not a secure context (serve it over https or from localhost)',
    };
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter)
      return { ok: false, reason: 'navigator.gpu.requestAdapter() found no adapter (no usable GPU or driver)' };
    const i = adapter.info ?? {};
    return { ok: true, name: [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'unknown adapter' };
  } catch (err) {
    return { ok: false, reason: `requestAdapter failed (${firstLine(err)})` };
  }
}

async function fetchBytes(url: string, what: string, f: typeof fetch): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await f(url);
  } catch (err) {
    throw new ModelLoadError(`${what} ${url}: cannot fetch (${firstLine(err)})`);
  }
  if (!res.ok) throw new ModelLoadError(`${what} ${url}: HTTP ${res.status} ${res.statusText}`.trim());
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * One model: an ONNX Runtime Web session plus what its sidecar says about inputs, outputs and classes (the output
 * head: interpret, topClasses, nearestClasses, shared with runtime-node through @semembed/model).
 */
export class WebModel extends OutputHead {
  /** Time spent in the last embedImages call. */
  lastTiming: Timing = { preprocessMs: 0, inferenceMs: 0 };
  /** Whether the ONNX bytes were checked against the sidecar's source.onnx_sha256 (set by loadModel). */
  integrity: Integrity = { checked: false, reason: 'not loaded by loadModel' };
  private closed = false;

  constructor(
    name: string,
    override readonly sidecar: Sidecar,
    readonly session: ort.InferenceSession,
    readonly providers: ProviderReport,
    readonly source: string,
    readonly options: LoadModelOptions = {},
  ) {
    super(name, sidecar);
    this.checkSession(session, source, 'the model');
  }

  get executionProvider(): WebExecutionProvider {
    return this.providers.chosen;
  }

  /** Runs n preprocessed samples (n x sampleSize floats in the model's layout). */
  async run(input: Float32Array, n: number, outputNames?: string[]): Promise<Record<string, OutputTensor>> {
    if (this.closed) throw new ModelLoadError(`model ${this.name} was released`);
    const names = this.checkBatch(input, n, outputNames, this.session.outputNames);
    const feeds = { [this.inputName]: new ort.Tensor('float32', input, [n, ...this.sampleShape]) };
    return this.collectOutputs(await this.session.run(feeds, names), names);
  }

  /** Images -> one batch tensor. */
  async preprocess(images: ImageInput[], opts: PreprocessOptions & { sources?: string[] } = {}): Promise<Float32Array> {
    const batch = new Float32Array(images.length * this.sampleSize);
    for (const [i, img] of images.entries()) {
      await preprocessImage(img, this.sidecar, batch, i * this.sampleSize, {
        maxImagePixels: opts.maxImagePixels ?? this.options.maxImagePixels,
        source: opts.sources?.[i] ?? opts.source,
      });
    }
    return batch;
  }

  /** Images -> results, in batches of batchSize (default 32); lastTiming says where the time went. */
  async embedImages(
    images: ImageInput[],
    opts: PreprocessOptions & { batchSize?: number; sources?: string[] } = {},
  ): Promise<ImageResult[]> {
    const timing: Timing = { preprocessMs: 0, inferenceMs: 0 };
    const results = await this.inBatches(images, opts, async (chunk, sources) => {
      const t0 = performance.now();
      const x = await this.preprocess(chunk, { ...opts, sources });
      const t1 = performance.now();
      const out = await this.run(x, chunk.length);
      timing.preprocessMs += t1 - t0;
      timing.inferenceMs += performance.now() - t1;
      return this.interpret(out, chunk.length);
    });
    this.lastTiming = timing;
    return results;
  }

  async embed(image: ImageInput, opts: PreprocessOptions = {}): Promise<ImageResult> {
    return (await this.embedImages([image], opts))[0];
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}

export interface ModelBytes {
  sidecar: unknown;
  model: Uint8Array | ArrayBuffer;
  /** Names the model in messages. */
  source?: string;
}

/**
 * Loads a model by the URL of its sidecar (model.json; the .onnx is fetched from the sidecar's "model"
 * field, relative to it) or from bytes, and picks the first provider that creates a session and runs
 * a warm-up sample. The report says which one runs and why the others did not.
 */
export async function loadModel(from: string | URL | ModelBytes, opts: LoadModelOptions = {}): Promise<WebModel> {
  const f = opts.fetch ?? fetch.bind(globalThis);
  let sidecar: Sidecar;
  let bytes: Uint8Array;
  let source: string;
  let modelSource: string;
  if (typeof from === 'string' || from instanceof URL) {
    const base = typeof location !== 'undefined' ? location.href : undefined;
    const url = new URL(String(from), base);
    source = url.href;
    if (url.pathname.endsWith('.onnx'))
      throw new ModelLoadError(
        `${source}: give the sidecar (model.json) URL; the .onnx alone says nothing about preprocessing`,
      );
    const raw = await fetchBytes(url.href, 'sidecar', f);
    sidecar = validateSidecar(parseSidecarJson(new TextDecoder().decode(raw), source), source);
    modelSource = new URL(sidecar.model, url).href;
    bytes = await fetchBytes(modelSource, 'model', f);
  } else {
    source = from.source ?? 'model';
    sidecar = validateSidecar(from.sidecar, source);
    bytes = from.model instanceof Uint8Array ? from.model : new Uint8Array(from.model);
    modelSource = `the model bytes given with ${source}`;
  }
  // Before any session: a mismatched pair is refused whatever the provider.
  const integrity = await checkModelHash(bytes, sidecar, source, modelSource);
  const threads = configureWasm(opts);
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  const order = opts.executionProviders ?? DEFAULT_EP_ORDER;
  if (order.length === 0) throw new ModelLoadError('no execution provider to try (executionProviders is empty)');
  const attempts: ProviderAttempt[] = [];
  let adapter: string | undefined;
  const name = opts.name ?? sidecarName(source);
  for (const ep of order) {
    if (ep !== 'webgpu' && ep !== 'wasm')
      throw new ModelLoadError(`unknown execution provider "${ep as string}" (webgpu or wasm)`);
    if (ep === 'webgpu') {
      const a = await webgpuAdapter();
      if (!a.ok) {
        attempts.push({ ep, ok: false, reason: a.reason });
        continue;
      }
      adapter = a.name;
    }
    let session: ort.InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: 'all' });
      const report: ProviderReport = {
        chosen: ep,
        attempts: [
          ...attempts,
          {
            ep,
            ok: true,
            reason:
              ep === 'webgpu'
                ? `WebGPU adapter: ${adapter}`
                : threads > 1
                  ? `wasm SIMD, ${threads} threads (page is cross-origin isolated)`
                  : `wasm SIMD, 1 thread${isolated ? '' : ' (page is not cross-origin isolated: threads need COOP/COEP headers)'}`,
          },
        ],
        threads,
        crossOriginIsolated: isolated,
        ...(adapter && { adapter }),
      };
      const model = new WebModel(name, sidecar, session, report, source, opts);
      model.integrity = integrity;
      if (opts.warmup !== false) await model.run(new Float32Array(model.sampleSize), 1);
      return model;
    } catch (err) {
      await session?.release().catch(() => undefined);
      if (err instanceof SidecarError) throw err; // the sidecar does not fit the model: no provider will help
      attempts.push({ ep, ok: false, reason: `session failed: ${firstLine(err)}` });
    }
  }
  throw new ModelLoadError(
    `${source}: no execution provider could run the model (${attempts.map((a) => `${a.ep}: ${a.reason}`).join('; ')})`,
  );
}

function sidecarName(source: string): string {
  const parts = source.split('?')[0].split('/').filter(Boolean);
  const file = parts.at(-1) ?? 'model';
  if (file === 'model.json' && parts.length > 1) return parts.at(-2)!;
  return file.replace(/\.json$/, '');
}

import { existsSync, symlinkSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { requestGpuAdapter, describeAdapter, type GpuAdapterReport } from '@semembed/gpu';
import { ModelLoadError } from './errors.js';

export type ExecutionProvider = 'cuda' | 'webgpu' | 'cpu';
export const DEFAULT_EP_ORDER: ExecutionProvider[] = ['cuda', 'webgpu', 'cpu'];

export interface SessionOptions {
  /** Providers to try, in order; 'auto' = cuda, webgpu, cpu. */
  ep?: ExecutionProvider[] | ExecutionProvider | 'auto' | string;
  /** Intra-op threads for the CPU provider (0 or undefined: ONNX Runtime's default, one per core). */
  threads?: number;
  /** Inter-op threads (only used with parallel execution; default ONNX Runtime's). */
  interOpThreads?: number;
  /** ONNX Runtime graph optimisation level (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Folder with libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so (from the
   * Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 package). ONNX Runtime only loads providers from the folder
   * of its own library, so they are linked there when missing.
   */
  cudaProviderDir?: string;
  /** CUDA device id (default 0). */
  deviceId?: number;
  /**
   * Let the default order (`auto`) take WebGPU on a CPU emulation (SwiftShader, lavapipe). Naming `webgpu`
   * explicitly in `ep` always allows it.
   */
  allowSoftwareGpu?: boolean;
}

export interface ProviderAttempt {
  ep: ExecutionProvider;
  ok: boolean;
  /** Why it failed (absent when ok). */
  reason?: string;
  ms: number;
}

export interface ProviderReport {
  chosen: ExecutionProvider;
  attempts: ProviderAttempt[];
  /**
   * The WebGPU adapter, when webgpu was tried: Dawn's high-performance adapter, as ONNX Runtime's WebGPU provider
   * takes it (ORT does not report its adapter itself; both see the same Vulkan devices).
   */
  adapter?: GpuAdapterReport;
}

/** Why WebGPU cannot be tried (no adapter, or an emulation `auto` must not pass off as a GPU), with the adapter. */
async function webgpuCheck(
  explicit: boolean,
  opts: SessionOptions,
): Promise<{ why?: string; adapter?: GpuAdapterReport }> {
  let adapter: GpuAdapterReport;
  try {
    adapter = (await requestGpuAdapter('high-performance')).report;
  } catch (err) {
    return { why: (err as Error).message };
  }
  if (adapter.software && !explicit && !opts.allowSoftwareGpu) {
    return {
      adapter,
      why: `the adapter is ${describeAdapter(adapter)}, not a GPU (slower than the CPU provider; --ep webgpu uses it anyway)`,
    };
  }
  return { adapter };
}

const KNOWN: ExecutionProvider[] = ['cuda', 'webgpu', 'cpu'];

export function parseEpList(ep: SessionOptions['ep']): ExecutionProvider[] {
  if (ep === undefined || ep === 'auto') return [...DEFAULT_EP_ORDER];
  const list = Array.isArray(ep)
    ? ep
    : String(ep)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  if (list.length === 0) throw new ModelLoadError('--ep: no execution provider named');
  for (const e of list) {
    if (!KNOWN.includes(e as ExecutionProvider)) {
      throw new ModelLoadError(`--ep: unknown execution provider "${e}" (known: ${KNOWN.join(', ')}, auto)`);
    }
  }
  return list as ExecutionProvider[];
}

/** The folder holding onnxruntime-node's native binding and libonnxruntime.so. */
export function ortBinDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

const CUDA_LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];

/**
 * Checks (and, given a folder, links in) the CUDA provider libraries. Returns why CUDA cannot be tried,
 * or undefined when the libraries are in place. CUDA 12 and cuDNN 9 themselves are found by the dynamic
 * loader (LD_LIBRARY_PATH as it was when the process started, or ldconfig).
 */
export function prepareCuda(cudaProviderDir?: string): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `CUDA provider is only wired up for linux-x64 here (this is ${process.platform}-${process.arch})`;
  const bin = ortBinDir();
  if (cudaProviderDir) {
    if (!existsSync(cudaProviderDir)) return `--cuda_path ${cudaProviderDir} does not exist`;
    for (const lib of CUDA_LIBS) {
      const src = join(cudaProviderDir, lib);
      const dst = join(bin, lib);
      if (!existsSync(src))
        return `${lib} not found in --cuda_path ${cudaProviderDir} (found: ${
          readdirSync(cudaProviderDir)
            .filter((f) => f.endsWith('.so'))
            .join(', ') || 'no .so files'
        })`;
      if (!existsSync(dst)) {
        try {
          symlinkSync(src, dst);
        } catch (err) {
          return `cannot link ${src} into ${bin} (${(err as Error).message}); copy it there yourself`;
        }
      }
    }
  }
  const missing = CUDA_LIBS.filter((lib) => !existsSync(join(bin, lib)));
  if (missing.length > 0) {
    return (
      `${missing.join(' and ')} not installed in ${bin} (onnxruntime-node was installed with ` +
      'ONNXRUNTIME_NODE_INSTALL=skip or offline; see the README\'s "CUDA" section, or pass --cuda_path)'
    );
  }
  return undefined;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  let line = msg.split('\n').find((l) => l.trim()) ?? msg;
  // Drop the C++ source location and assertion text ORT puts first ("/onnxruntime_src/...cc:136 ... was false. ").
  line = line.replace(/^\/onnxruntime_src\/\S+ .*? was false\.\s*/, '').replace(/^\/onnxruntime_src\/\S+\s+/, '');
  return line.length > 400 ? `${line.slice(0, 400)}...` : line;
}

function epConfig(ep: ExecutionProvider, opts: SessionOptions): ort.InferenceSession.ExecutionProviderConfig {
  if (ep === 'cuda') return { name: 'cuda', deviceId: opts.deviceId ?? 0 };
  return ep;
}

/**
 * Creates an ONNX Runtime session, trying the providers in order. A provider counts as working only
 * when the session is created with it; ONNX Runtime would otherwise silently fall back to CPU for
 * the nodes it cannot place, which is fine and reported by ORT's own logs.
 */
export async function createSession(
  modelPath: string,
  opts: SessionOptions = {},
): Promise<{ session: ort.InferenceSession; report: ProviderReport }> {
  const order = parseEpList(opts.ep);
  const explicit = !(opts.ep === undefined || opts.ep === 'auto');
  const attempts: ProviderAttempt[] = [];
  let adapter: GpuAdapterReport | undefined;
  for (const ep of order) {
    const t0 = performance.now();
    if (ep === 'webgpu') {
      const check = await webgpuCheck(explicit, opts);
      adapter = check.adapter;
      if (check.why) {
        attempts.push({ ep, ok: false, reason: check.why, ms: performance.now() - t0 });
        continue;
      }
    }
    if (ep === 'cuda') {
      const why = prepareCuda(opts.cudaProviderDir);
      if (why) {
        attempts.push({ ep, ok: false, reason: why, ms: performance.now() - t0 });
        continue;
      }
    }
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [epConfig(ep, opts)],
      graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
      // ORT would print run errors to stderr itself; they reach the caller as exceptions and are logged there.
      logSeverityLevel: 4,
    };
    if (opts.threads) options.intraOpNumThreads = opts.threads;
    if (opts.interOpThreads) options.interOpNumThreads = opts.interOpThreads;
    try {
      const session = await ort.InferenceSession.create(modelPath, options);
      attempts.push({ ep, ok: true, ms: performance.now() - t0 });
      return { session, report: { chosen: ep, attempts, ...(adapter ? { adapter } : {}) } };
    } catch (err) {
      let reason = firstLine(err);
      if (ep === 'webgpu' && /No supported adapters/.test(reason)) {
        reason +=
          ' (no Vulkan device: on a machine without a GPU set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for the slow SwiftShader adapter)';
      }
      attempts.push({ ep, ok: false, reason, ms: performance.now() - t0 });
      // A model that ORT cannot even parse fails the same on every provider: stop early.
      if (/INVALID_PROTOBUF|Protobuf parsing failed|No such file|Load model from .* failed/i.test(reason)) {
        throw new ModelLoadError(`cannot load ${modelPath}: ${reason}`);
      }
    }
  }
  throw new ModelLoadError(
    `no execution provider could run ${modelPath}: ${attempts.map((a) => `${a.ep}: ${a.reason}`).join('; ')}`,
  );
}

export function describeReport(r: ProviderReport): string {
  const failed = r.attempts.filter((a) => !a.ok).map((a) => `${a.ep} failed: ${a.reason}`);
  const gpu = r.chosen === 'webgpu' && r.adapter ? ` on ${describeAdapter(r.adapter)}` : '';
  return [`execution provider: ${r.chosen}${gpu}`, ...failed].join('\n  ');
}

export { ort };

/**
 * `--cuda_path` folders: the one holding the ORT CUDA provider libraries becomes `cudaProviderDir`;
 * all of them must also be on LD_LIBRARY_PATH for CUDA 12 / cuDNN 9, which the dynamic loader reads
 * only at process start. Returns the provider folder and, when the current process lacks some of the
 * folders on LD_LIBRARY_PATH, the environment to relaunch it with.
 */
export function cudaPathSetup(paths: string[]): { cudaProviderDir?: string; relaunchEnv?: NodeJS.ProcessEnv } {
  const dirs = paths.flatMap((p) => p.split(':')).filter(Boolean);
  if (dirs.length === 0) return {};
  const cudaProviderDir = dirs.find((d) => existsSync(join(d, 'libonnxruntime_providers_cuda.so'))) ?? dirs[0];
  const current = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const missing = dirs.filter((d) => !current.includes(d));
  if (missing.length === 0 || process.env.SEMEMBED_CUDA_RELAUNCHED === '1') return { cudaProviderDir };
  return {
    cudaProviderDir,
    relaunchEnv: { ...process.env, LD_LIBRARY_PATH: [...missing, ...current].join(':'), SEMEMBED_CUDA_RELAUNCHED: '1' },
  };
}

/**
 * TensorFlow.js backend selection: tensorflow-gpu > webgpu (a real GPU through Dawn) > tensorflow (native
 * libtensorflow) > wasm > cpu.
 *
 * The native bindings (@tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node) download libtensorflow in their
 * install script, so they are optional: never dependencies, imported dynamically when a user installed them.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadNativeConv } from './native-conv.js';
import { registerFastWasmKernels } from './wasm-kernels.js';
import { TrainerError } from './errors.js';
import { registerWebgpuKernels } from './webgpu-kernels/index.js';
import { describeAdapter, type GpuAdapterReport, type PowerPreference } from '@semembed/gpu';
import { initWebgpu } from './webgpu.js';

export type Tf = typeof tfjs;
export type BackendName = 'auto' | 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendOptions {
  /** Which WebGPU adapter to ask Dawn for. */
  powerPreference?: PowerPreference;
  /** Let `auto` take a CPU emulation of WebGPU (SwiftShader, lavapipe): only useful in tests. */
  allowSoftwareGpu?: boolean;
}

export interface BackendChoice {
  tf: Tf;
  /** What was asked for. */
  requested: BackendName;
  /** What runs: tensorflow-gpu | webgpu | tensorflow | wasm | cpu. */
  name: Exclude<BackendName, 'auto'>;
  /** The WebGPU adapter (webgpu only). */
  adapter?: GpuAdapterReport;
  /** The tfjs backend name (tensorflow / webgpu / wasm / cpu). */
  tfBackend: string;
  /** Why the faster candidates were not taken (empty when the first choice worked). */
  skipped: string[];
  /** Kernels replaced by our fast wasm gradients (wasm only). */
  fastKernels: string[];
}

const require = createRequire(import.meta.url);

async function tryNative(
  pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node',
): Promise<{ tf?: Tf; why?: string }> {
  try {
    const mod = (await import(pkg)) as unknown as { default?: Tf } & Tf;
    const tf = (mod.default ?? mod) as Tf;
    return { tf };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      return {
        why: `${pkg} is not installed (optional: \`npm install ${pkg}@4.22.0\` needs internet; see the trainer README)`,
      };
    }
    return { why: `${pkg} failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
}

let wasmPathSet = false;

/** Directory of the wasm binaries of the installed @tensorflow/tfjs-backend-wasm (no network). */
export function wasmDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

async function initWasm(tf: Tf): Promise<string[]> {
  if (!wasmPathSet) {
    setWasmPaths(wasmDir());
    wasmPathSet = true;
  }
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('the wasm backend did not initialise');
  await tf.ready();
  return registerFastWasmKernels(tf);
}

function nativeHasGpu(tf: Tf): boolean {
  // tfjs-node-gpu falls back to the CPU silently when CUDA is missing; its backend reports the devices.
  const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return b.isUsingGpuDevice === true;
}

/**
 * Selects and initialises a backend. `auto` walks tensorflow-gpu, webgpu (real GPUs only), tensorflow, wasm, cpu and
 * records why each faster one was skipped. An explicit name that cannot load is a user error.
 */
export async function selectBackend(
  requested: BackendName = 'auto',
  opts: BackendOptions = {},
): Promise<BackendChoice> {
  if (!BACKEND_NAMES.includes(requested)) {
    throw new TrainerError(`--backend: unknown backend '${requested}' (choose ${BACKEND_NAMES.join('|')})`);
  }
  const skipped: string[] = [];
  // PROD silences tfjs's "install tfjs-node" console banner; the reason list below says it once, better.
  tfjs.env().set('PROD', true);
  const want = (n: BackendName) => requested === 'auto' || requested === n;

  if (want('tensorflow-gpu')) {
    const r = await tryNative('@tensorflow/tfjs-node-gpu');
    if (r.tf) {
      await r.tf.setBackend('tensorflow');
      if (nativeHasGpu(r.tf) || requested === 'tensorflow-gpu') {
        return { tf: r.tf, requested, name: 'tensorflow-gpu', tfBackend: 'tensorflow', skipped, fastKernels: [] };
      }
      skipped.push('tensorflow-gpu: @tensorflow/tfjs-node-gpu is installed but sees no CUDA GPU');
    } else {
      if (requested === 'tensorflow-gpu') throw new TrainerError(`--backend tensorflow-gpu: ${r.why}`);
      skipped.push(`tensorflow-gpu: ${r.why}`);
    }
  }
  if (want('webgpu')) {
    try {
      const adapter = await initWebgpu(tfjs, opts.powerPreference);
      if (requested === 'webgpu' || !adapter.software || opts.allowSoftwareGpu) {
        const fastKernels = registerWebgpuKernels(tfjs);
        return { tf: tfjs, requested, name: 'webgpu', adapter, tfBackend: 'webgpu', skipped, fastKernels };
      }
      // Emulated WebGPU is far slower than the wasm backend: auto only takes a real GPU.
      skipped.push(`webgpu: the adapter is ${describeAdapter(adapter)}, not a GPU`);
    } catch (err) {
      if (requested === 'webgpu') throw new TrainerError(`--backend webgpu: ${(err as Error).message}`);
      skipped.push(`webgpu: ${(err as Error).message}`);
    }
  }
  if (want('tensorflow')) {
    const r = await tryNative('@tensorflow/tfjs-node');
    if (r.tf) {
      await r.tf.setBackend('tensorflow');
      return { tf: r.tf, requested, name: 'tensorflow', tfBackend: 'tensorflow', skipped, fastKernels: [] };
    }
    if (requested === 'tensorflow') throw new TrainerError(`--backend tensorflow: ${r.why}`);
    skipped.push(`tensorflow: ${r.why}`);
  }
  const tf = tfjs;
  if (want('wasm')) {
    try {
      const fastKernels = await initWasm(tf);
      return { tf, requested, name: 'wasm', tfBackend: 'wasm', skipped, fastKernels };
    } catch (err) {
      if (requested === 'wasm') throw new TrainerError(`--backend wasm: ${(err as Error).message}`);
      skipped.push(`wasm: ${(err as Error).message}`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, requested, name: 'cpu', tfBackend: 'cpu', skipped, fastKernels: [] };
}

/** One line for logs: what runs and why not something faster. */
export function describeBackend(c: BackendChoice): string {
  const why = c.skipped.length ? ` (not faster: ${c.skipped.join('; ')})` : '';
  const extra = c.fastKernels.length ? `, fast gradient kernels: ${c.fastKernels.join(', ')}` : '';
  const conv = c.name === 'wasm' ? `; convolutions: ${loadNativeConv().why}` : '';
  const gpu = c.adapter ? ` on ${describeAdapter(c.adapter)}` : '';
  return `backend: ${c.name}${gpu}${extra}${conv}${why}`;
}

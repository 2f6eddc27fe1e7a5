/**
 * WebGPU adapters in Node: Dawn's Node bindings (the `webgpu` npm package ships a prebuilt `dawn.node` for
 * linux-x64; nothing downloads). Dawn runs on the machine's Vulkan driver, so an NVIDIA, AMD or Intel GPU is used
 * without CUDA; without a GPU, Chromium's SwiftShader ICD (`VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`)
 * gives a correct but slow CPU emulation, which tests use. Callers must know which of the two they got.
 */
import { vulkanIcdDirs, vulkanIcdFiles } from './vulkan.js';

export type PowerPreference = 'high-performance' | 'low-power';
export const POWER_PREFERENCES: readonly PowerPreference[] = ['high-performance', 'low-power'];

export interface GpuAdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU emulations (SwiftShader, lavapipe/llvmpipe) and adapters Dawn marks as fallback. */
  software: boolean;
}

/** Adapter names of CPU emulations of Vulkan/WebGPU: correct, but slower than the CPU backends. */
const SOFTWARE_ADAPTERS = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

export function isSoftwareAdapter(info: Omit<GpuAdapterReport, 'software'>, fallback = false): boolean {
  return fallback || SOFTWARE_ADAPTERS.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

/** One line: "nvidia / hopper / NVIDIA H200" or "google / swiftshader / ... (CPU emulation)". */
export function describeAdapter(a: GpuAdapterReport): string {
  const name = [a.vendor, a.architecture, a.device, a.description].filter((s) => s).join(' / ') || 'unnamed adapter';
  return `${name}${a.software ? ' (CPU emulation)' : ''}`;
}

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

let gpuInstance: GPU | undefined;

/**
 * The process-wide GPU object: Dawn loaded once, its globals (GPUBufferUsage, ...) installed, and
 * `navigator.gpu` set (Node 20 has no navigator; Node 21+ has one without gpu) for libraries that look there.
 */
export async function dawnGpu(): Promise<GPU> {
  if (gpuInstance) return gpuInstance;
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    throw new Error(`the 'webgpu' package (Dawn for Node) did not load: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
  Object.assign(globalThis, dawn.globals);
  gpuInstance = dawn.create([]);
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.assign(nav, { gpu: gpuInstance }),
    configurable: true,
    writable: true,
  });
  return gpuInstance;
}

const DRIVER_HINT =
  "install the GPU vendor's Vulkan driver and libvulkan1; for tests without a GPU, " +
  'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json selects SwiftShader';

export const NO_ADAPTER = `no WebGPU adapter: Dawn found no Vulkan device (${DRIVER_HINT})`;

export function reportOf(adapter: GPUAdapter): GpuAdapterReport {
  const info = (adapter as unknown as { info?: Partial<GPUAdapterInfo> }).info ?? {};
  const base = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
  const fallback = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { ...base, software: isSoftwareAdapter(base, fallback) };
}

/** Why there can be no adapter before Dawn is even loaded (no Vulkan driver manifest anywhere), or undefined. */
export function noVulkanDriver(env: Record<string, string | undefined> = process.env): string | undefined {
  if (vulkanIcdFiles(env).length) return undefined;
  const where = env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES;
  const searched = where ? `VK_ICD_FILENAMES=${where}` : vulkanIcdDirs(env).join(', ');
  return `no WebGPU adapter: no Vulkan driver is installed (no driver manifest in ${searched}; ${DRIVER_HINT})`;
}

/** Finds an adapter, or throws why there is none. */
export async function requestGpuAdapter(
  powerPreference: PowerPreference = 'high-performance',
): Promise<{ adapter: GPUAdapter; report: GpuAdapterReport }> {
  const noDriver = noVulkanDriver();
  if (noDriver) throw new Error(noDriver);
  const gpu = await dawnGpu();
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) throw new Error(NO_ADAPTER);
  return { adapter, report: reportOf(adapter) };
}

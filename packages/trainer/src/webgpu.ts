/**
 * TensorFlow.js on WebGPU in Node: Dawn's Node bindings (the `webgpu` npm package ships a prebuilt `dawn.node`,
 * nothing downloads) under `@tensorflow/tfjs-backend-webgpu`. On a machine with a Vulkan GPU driver this trains on
 * the GPU without CUDA or cuDNN; without one, Chromium's SwiftShader ICD gives a correct but slow CPU emulation
 * (`VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`), which the tests use.
 *
 * We request the adapter ourselves (instead of the backend's own factory) so that the caller chooses it, and so
 * that we can say which adapter runs and whether it is a real GPU.
 */
import type * as tfType from '@tensorflow/tfjs';
import { TrainerError } from './errors.js';

export type PowerPreference = 'high-performance' | 'low-power';

export interface GpuAdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU emulations (SwiftShader, lavapipe/llvmpipe) and adapters Dawn marks as fallback. */
  software: boolean;
}

/** Adapter names of CPU emulations of Vulkan/WebGPU: correct, but slower than the wasm backend. */
const SOFTWARE_ADAPTERS = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

export function isSoftwareAdapter(info: Omit<GpuAdapterReport, 'software'>, fallback = false): boolean {
  return fallback || SOFTWARE_ADAPTERS.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

export function describeAdapter(a: GpuAdapterReport): string {
  const name = [a.vendor, a.architecture, a.device, a.description].filter((s) => s).join(' / ') || 'unnamed adapter';
  return `${name}${a.software ? ' (CPU emulation)' : ''}`;
}

interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

let gpuInstance: GPU | undefined;

/** The process-wide GPU object: Dawn loaded once, its globals (GPUBufferUsage, ...) installed. */
async function dawnGpu(): Promise<GPU> {
  if (gpuInstance) return gpuInstance;
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    throw new Error(`the 'webgpu' package (Dawn for Node) did not load: ${(err as Error).message.split('\n')[0]}`);
  }
  Object.assign(globalThis, dawn.globals);
  gpuInstance = dawn.create([]);
  // tfjs-backend-webgpu looks for navigator.gpu (Node 20 has no navigator; Node 21+ has one without gpu).
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', { value: Object.assign(nav, { gpu: gpuInstance }), configurable: true, writable: true });
  return gpuInstance;
}

/** Finds an adapter, or says why there is none. */
export async function requestGpuAdapter(powerPreference: PowerPreference = 'high-performance'): Promise<{ adapter: GPUAdapter; report: GpuAdapterReport }> {
  const gpu = await dawnGpu();
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) {
    throw new Error(
      'no WebGPU adapter: Dawn found no Vulkan device (install the GPU vendor\'s Vulkan driver and libvulkan1; for tests ' +
        'without a GPU, VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json selects SwiftShader)',
    );
  }
  const info = (adapter as unknown as { info?: Partial<GPUAdapterInfo> }).info ?? {};
  const base = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
  const fallback = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { adapter, report: { ...base, software: isSoftwareAdapter(base, fallback) } };
}

/**
 * Initialises tfjs's webgpu backend on a chosen adapter. The device gets the adapter's limits for the buffer and
 * workgroup sizes (as the backend's own factory asks), so large convolutions fit.
 */
export async function initWebgpu(tf: typeof tfType, powerPreference: PowerPreference = 'high-performance'): Promise<GpuAdapterReport> {
  const { adapter, report } = await requestGpuAdapter(powerPreference);
  const mod = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
    WebGPUBackend: new (device: GPUDevice, info?: GPUAdapterInfo) => tfType.KernelBackend;
  };
  const limits = adapter.limits;
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  const info = (adapter as unknown as { info?: GPUAdapterInfo }).info;
  if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new mod.WebGPUBackend(device, info), 3);
  const ok = await tf.setBackend('webgpu');
  if (!ok) throw new TrainerError(`the webgpu backend did not initialise on ${describeAdapter(report)}`);
  await tf.ready();
  return report;
}

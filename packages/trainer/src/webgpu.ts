/**
 * TensorFlow.js on WebGPU in Node: Dawn's Node bindings (the `webgpu` npm package ships a prebuilt `dawn.node`,
 * nothing downloads) under `@tensorflow/tfjs-backend-webgpu`. On a machine with a Vulkan GPU driver this trains on
 * the GPU without CUDA or cuDNN; without one, Chromium's SwiftShader ICD gives a correct but slow CPU emulation
 * (`VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`), which the tests use.
 *
 * We request the adapter ourselves (@semembed/gpu, instead of the backend's own factory) so that the caller
 * chooses it, and so that we can say which adapter runs and whether it is a real GPU.
 */
import type * as tfType from '@tensorflow/tfjs';
import { requestGpuAdapter, describeAdapter, type GpuAdapterReport, type PowerPreference } from '@semembed/gpu';
import { TrainerError } from './errors.js';

let current: { tf: typeof tfType; powerPreference: PowerPreference; report: GpuAdapterReport } | undefined;

/**
 * Initialises tfjs's webgpu backend on a chosen adapter. The device gets the adapter's limits for the buffer and
 * workgroup sizes (as the backend's own factory asks), so large convolutions fit.
 */
export async function initWebgpu(
  tf: typeof tfType,
  powerPreference: PowerPreference = 'high-performance',
): Promise<GpuAdapterReport> {
  // One device per process and preference: a new device per call would strand the tensors of the old one.
  if (current && current.tf === tf && current.powerPreference === powerPreference && tf.findBackend('webgpu')) {
    if (!(await tf.setBackend('webgpu')))
      throw new TrainerError(`the webgpu backend did not initialise on ${describeAdapter(current.report)}`);
    return current.report;
  }
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
  current = { tf, powerPreference, report };
  return report;
}

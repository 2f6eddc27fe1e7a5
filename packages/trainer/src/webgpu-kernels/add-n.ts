/**
 * AddN on webgpu for any number of inputs. tfjs-backend-webgpu 4.22 sums all inputs in one shader that binds every
 * input as a storage buffer; past the device's `maxStorageBuffersPerShaderStage` (8 by default, minus the output)
 * Dawn rejects the pipeline and the result is garbage without an exception. KerasSGD's global-norm clipping sums
 * one square per weight tensor (hundreds for resnet-110), so the sum is taken in chunks that fit.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { WebgpuKernel } from './types.js';

interface DeviceBackend {
  device: GPUDevice;
  disposeData(dataId: object): void;
}

export const addN: WebgpuKernel = {
  kernelName: 'AddN',
  make:
    (_tf, original) =>
    ({ inputs, backend, attrs }) => {
      const b = backend as unknown as DeviceBackend;
      const chunk = Math.max(2, Math.min(8, b.device.limits.maxStorageBuffersPerShaderStage) - 1);
      let xs = inputs as unknown as tfType.TensorInfo[];
      const owned = new Set<tfType.TensorInfo>();
      while (xs.length > chunk) {
        const next: tfType.TensorInfo[] = [];
        for (let i = 0; i < xs.length; i += chunk) {
          const part = xs.slice(i, i + chunk);
          if (part.length === 1) {
            next.push(part[0]);
            continue;
          }
          const sum = original({
            inputs: part as unknown as tfType.NamedTensorInfoMap,
            backend,
            attrs,
          }) as tfType.TensorInfo;
          for (const p of part) if (owned.delete(p)) b.disposeData(p.dataId);
          owned.add(sum);
          next.push(sum);
        }
        xs = next;
      }
      const out = original({ inputs: xs as unknown as tfType.NamedTensorInfoMap, backend, attrs }) as tfType.TensorInfo;
      for (const p of owned) b.disposeData(p.dataId);
      return out;
    },
};

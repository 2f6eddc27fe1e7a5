export {
  dawnGpu,
  requestGpuAdapter,
  reportOf,
  describeAdapter,
  isSoftwareAdapter,
  NO_ADAPTER,
  noVulkanDriver,
  POWER_PREFERENCES,
  type GpuAdapterReport,
  type PowerPreference,
} from './adapter.js';
export { vulkanIcdDirs, vulkanIcdFiles } from './vulkan.js';

export {
  dawnGpu,
  requestGpuAdapter,
  reportOf,
  describeAdapter,
  isSoftwareAdapter,
  NO_ADAPTER,
  POWER_PREFERENCES,
  type GpuAdapterReport,
  type PowerPreference,
} from './adapter.js';

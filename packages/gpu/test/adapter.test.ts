import fs from 'node:fs';
import { describe, it, expect } from 'vitest';
import { requestGpuAdapter, describeAdapter, isSoftwareAdapter } from '../src/index.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
process.env.VK_ICD_FILENAMES ??= SWIFTSHADER;

describe('WebGPU adapters through Dawn', () => {
  it('finds an adapter and says whether it is a real GPU', async () => {
    expect(
      fs.existsSync(process.env.VK_ICD_FILENAMES!),
      `Vulkan ICD ${process.env.VK_ICD_FILENAMES} (apt-get install chromium libvulkan1)`,
    ).toBe(true);
    const { adapter, report } = await requestGpuAdapter();
    expect(adapter.limits.maxBufferSize).toBeGreaterThan(0);
    if (process.env.VK_ICD_FILENAMES === SWIFTSHADER) {
      expect(report.software).toBe(true);
      expect(describeAdapter(report)).toMatch(/swiftshader.*\(CPU emulation\)$/i);
    }
  });

  it('classifies adapter names', () => {
    const a = (description: string, vendor = '') => ({ vendor, architecture: '', device: '', description });
    expect(isSoftwareAdapter(a('SwiftShader Device (Subzero)', 'google'))).toBe(true);
    expect(isSoftwareAdapter(a('llvmpipe (LLVM 15.0.6, 256 bits)', 'mesa'))).toBe(true);
    expect(isSoftwareAdapter(a('NVIDIA H200', 'nvidia'))).toBe(false);
    expect(isSoftwareAdapter(a('NVIDIA H200', 'nvidia'), true)).toBe(true);
    expect(describeAdapter({ ...a('NVIDIA H200', 'nvidia'), software: false })).toBe('nvidia / NVIDIA H200');
  });
});

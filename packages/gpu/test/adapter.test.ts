import fs from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  requestGpuAdapter,
  describeAdapter,
  isSoftwareAdapter,
  noVulkanDriver,
  vulkanIcdDirs,
  vulkanIcdFiles,
} from '../src/index.js';

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

describe('Vulkan driver discovery (before Dawn is loaded)', () => {
  it('finds manifests where the loader looks, and says where it looked when there is none', () => {
    const root = fs.mkdtempSync(`${process.env.TMPDIR ?? '/tmp'}/vk-`);
    const empty = { HOME: root, XDG_CONFIG_DIRS: `${root}/etc`, XDG_DATA_DIRS: `${root}/share` };
    // The machine's own /etc/vulkan/icd.d is always searched; this machine's is empty or holds real drivers.
    const system = vulkanIcdFiles(empty);
    expect(vulkanIcdDirs(empty)).toContain(`${root}/share/vulkan/icd.d`);
    fs.mkdirSync(`${root}/share/vulkan/icd.d`, { recursive: true });
    fs.writeFileSync(`${root}/share/vulkan/icd.d/nvidia_icd.json`, '{}');
    fs.writeFileSync(`${root}/share/vulkan/icd.d/README`, 'not a manifest');
    expect(vulkanIcdFiles(empty)).toEqual([...system, `${root}/share/vulkan/icd.d/nvidia_icd.json`]);
    // VK_ICD_FILENAMES replaces the search; a missing file there means no driver.
    expect(vulkanIcdFiles({ ...empty, VK_ICD_FILENAMES: SWIFTSHADER })).toEqual([SWIFTSHADER]);
    const missing = `${root}/none.json`;
    expect(vulkanIcdFiles({ ...empty, VK_ICD_FILENAMES: missing })).toEqual([]);
    expect(noVulkanDriver({ ...empty, VK_ICD_FILENAMES: missing })).toMatch(
      new RegExp(
        `^no WebGPU adapter: no Vulkan driver is installed \\(no driver manifest in VK_ICD_FILENAMES=${missing};`,
      ),
    );
    expect(noVulkanDriver({ ...empty, VK_ICD_FILENAMES: SWIFTSHADER })).toBeUndefined();
    fs.rmSync(root, { recursive: true });
  });
});

/**
 * Where the Vulkan loader looks for drivers (ICD manifests), so a machine without any is told so in one line before
 * Dawn is loaded: Dawn itself prints "vkCreateInstance: Found no drivers!" with a native source location to stderr,
 * which reads like a crash in the middle of a training run whose `auto` backend merely probed for a GPU.
 * The search order is the loader's (LoaderInterfaceArchitecture.md, "Driver Discovery on Linux").
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Record<string, string | undefined>;

function split(list: string | undefined): string[] {
  return (list ?? '').split(':').filter((s) => s);
}

/** The folders the loader scans for `*.json` driver manifests when no override variable is set. */
export function vulkanIcdDirs(env: Env = process.env): string[] {
  const home = env.HOME || homedir();
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
  const dataHome = env.XDG_DATA_HOME || join(home, '.local', 'share');
  const configDirs = split(env.XDG_CONFIG_DIRS || '/etc/xdg');
  const dataDirs = split(env.XDG_DATA_DIRS || '/usr/local/share:/usr/share');
  return [configHome, ...configDirs, '/etc', dataHome, ...dataDirs].map((d) => join(d, 'vulkan', 'icd.d'));
}

/**
 * The driver manifests the Vulkan loader would find: VK_DRIVER_FILES / VK_ICD_FILENAMES (files or folders) replace the
 * search, VK_ADD_DRIVER_FILES adds to it. Empty: no Vulkan driver, so no WebGPU adapter in Node.
 */
export function vulkanIcdFiles(env: Env = process.env): string[] {
  const manifests = (path: string): string[] => {
    if (!existsSync(path)) return [];
    if (path.endsWith('.json')) return [path];
    try {
      return readdirSync(path)
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(path, f));
    } catch {
      return [];
    }
  };
  const override = split(env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES);
  const base = override.length ? override : vulkanIcdDirs(env);
  return [...base, ...split(env.VK_ADD_DRIVER_FILES)].flatMap(manifests);
}

// What the numbers were measured on: CPU, memory, OS, runtimes' versions, load, GPU adapter (filled in by the
// runners that find one).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { chromiumPath } from '@semembed/runtime-web/chromium';

const require = createRequire(import.meta.url);

export interface Environment {
  cpu: string;
  cores: number;
  memoryBytes: number;
  os: string;
  node: string;
  versions: Record<string, string>;
  chromium?: string;
  /** Load average (1 / 5 / 15 min) at the start: the machine may be shared. */
  loadAverage: number[];
  gpu: string[];
  env: Record<string, string>;
  date: string;
}

function pkgVersion(name: string): string | undefined {
  try {
    // Packages with an exports map hide package.json: find it from the resolved entry.
    let dir = dirname(require.resolve(name));
    for (let i = 0; i < 5; i++, dir = dirname(dir)) {
      const p = join(dir, 'package.json');
      if (existsSync(p)) {
        const j = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (j.name === name) return j.version;
      }
    }
  } catch {
    // not installed
  }
  return undefined;
}

function osName(): string {
  try {
    const rel = readFileSync('/etc/os-release', 'utf8');
    const pretty = /PRETTY_NAME="([^"]+)"/.exec(rel)?.[1];
    if (pretty) return `${pretty}, ${os.type()} ${os.release()}`;
  } catch {
    // not Linux
  }
  return `${os.type()} ${os.release()}`;
}

/** NVIDIA GPUs with their driver, when nvidia-smi is there (WebGPU adapters are added by the runners that find one). */
function nvidiaGpus(): string[] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => `NVIDIA ${l.trim()} (nvidia-smi)`);
  } catch {
    return [];
  }
}

function chromiumVersion(): string | undefined {
  if (!existsSync(chromiumPath())) return undefined;
  try {
    return execFileSync(chromiumPath(), ['--version'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

export function describeEnvironment(): Environment {
  const versions: Record<string, string> = {};
  for (const p of [
    'onnxruntime-node',
    'onnxruntime-web',
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    'webgpu',
    'playwright-core',
  ]) {
    const v = pkgVersion(p);
    if (v) versions[p] = v;
  }
  const env: Record<string, string> = {};
  for (const k of ['VK_ICD_FILENAMES', 'CUDA_VISIBLE_DEVICES', 'OMP_NUM_THREADS'])
    if (process.env[k]) env[k] = process.env[k]!;
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryBytes: os.totalmem(),
    os: osName(),
    node: process.version,
    versions,
    chromium: chromiumVersion(),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    gpu: nvidiaGpus(),
    env,
    date: new Date().toISOString(),
  };
}

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(import.meta.dirname, '..', 'bin', 'semembed.js');

const CPU = join(import.meta.dirname, 'cpu-at-exit.cjs');

/**
 * Runs the built CLI as a user would: a child process, exit code and both streams; cpuMs is the child's own CPU
 * time (user + system, from its start to its exit; see cpu-at-exit.cjs).
 */
export function semembed(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {},
) {
  const r = spawnSync(process.execPath, ['--require', CPU, BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeout ?? 120_000,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const cpu = r.output[3];
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, cpuMs: cpu ? Number(cpu) / 1000 : NaN };
}

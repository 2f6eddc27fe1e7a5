// How tests run the built CLI: as a user would, a child process. Exported once (package.json "./test/run") for the
// CLI's own tests and the end-to-end tests of the top-level test/ workspace (@semembed/e2e).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The repository root (the folder the README's commands run in). */
export const ROOT = join(import.meta.dirname, '..', '..', '..');
/** The CLI's bin, tools/cli/bin/semembed.js. */
export const BIN = join(import.meta.dirname, '..', 'bin', 'semembed.js');

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

/**
 * The CLI as a child process that does not block this process's event loop (for a test that serves HTTP itself, or
 * talks to a server the CLI starts, or signals the child): the child, its exit code once its streams are closed, and
 * what it has written so far.
 */
export function spawnSemembed(args: string[], options: { cwd?: string } = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

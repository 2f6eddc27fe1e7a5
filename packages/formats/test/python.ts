import { execFileSync } from 'node:child_process';

/** Debian's python with numpy (python3-numpy), the independent reference for file formats. */
export const PYTHON = '/usr/bin/python3';

/**
 * Runs python code. numpy / h5py are the independent references and CI installs them
 * (scripts/install-system-deps.sh), so a missing module fails the test with its import error, never skips it.
 */
export function py(code: string, args: string[] = []): string {
  return execFileSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8' });
}

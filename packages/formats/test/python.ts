import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's python with numpy (python3-numpy), the independent reference for file formats. */
export const PYTHON = '/usr/bin/python3';

export function hasNumpy(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function py(code: string, args: string[] = []): string {
  return execFileSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8' });
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's python with python3-onnx, the independent reference. CI installs it; without it these tests fail. */
export const PYTHON = '/usr/bin/python3';

/** Runs a python snippet (argv[1..] = args) and returns its stdout. */
export function python(code: string, args: string[] = []): string {
  return execFileSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tmpFile(name: string, bytes: Uint8Array): string {
  const path = join(mkdtempSync(join(tmpdir(), 'semembed-onnx-')), name);
  writeFileSync(path, bytes);
  return path;
}

/** onnx.checker.check_model(full_check=True); throws with the checker's message. */
export function checkModel(bytes: Uint8Array): void {
  const path = tmpFile('model.onnx', bytes);
  try {
    python('import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', [path]);
  } catch (e) {
    throw new Error(`onnx.checker: ${(e as { stderr?: string }).stderr ?? String(e)}`, { cause: e });
  }
}

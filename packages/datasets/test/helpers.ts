import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function tmp(prefix = 'semembed-datasets-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Byte j (of 3072, CHW planes) of CIFAR fixture image i, as make_fixtures.py writes it. */
export function cifarByte(i: number, j: number): number {
  return (i * i * 7 + i * 37 + j * 11 + Math.floor(j / 1024) * 50 + Math.floor(j / 32) * (j % 7)) % 256;
}

/** Expected HWC image of CIFAR fixture image i. */
export function cifarHwc(i: number): Uint8Array {
  const out = new Uint8Array(3072);
  for (let r = 0; r < 32; r++)
    for (let c = 0; c < 32; c++)
      for (let ch = 0; ch < 3; ch++) out[(r * 32 + c) * 3 + ch] = cifarByte(i, ch * 1024 + r * 32 + c);
  return out;
}

/** Asserts that fn throws (sync or async) an error with userFacing = true whose message matches all patterns. */
export async function expectUserError(fn: () => unknown, ...patterns: RegExp[]): Promise<string> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  if (!err) throw new Error('expected an error, none was thrown');
  const e = err as Error & { userFacing?: boolean };
  if (e.userFacing !== true) throw new Error(`expected a user-facing error, got ${e.name}: ${e.message}`);
  if (e.message.includes('\n')) throw new Error(`error message is not one line: ${e.message}`);
  for (const p of patterns) if (!p.test(e.message)) throw new Error(`message "${e.message}" does not match ${p}`);
  return e.message;
}

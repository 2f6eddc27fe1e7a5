import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath } from '@semembed/test-fixtures';
import { createServer, type SemembedServer, type ServerOptions } from '../src/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** The tiny test models other packages' tests read too: their one copy is in @semembed/test-fixtures (models/). */
export const fixture = (name: string): string => fixturePath(`models/${name}`);
/** This package's own fixtures (gather-fault.*), in test/fixtures. */
export const localFixture = (name: string): string => join(FIXTURES, name);
export const readJson = <T = any>(name: string): T => JSON.parse(readFileSync(fixture(name), 'utf8')) as T;

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A quiet server of fashion-tiny on the CPU at a free port; `options` adds to or overrides that. */
export function tinyServer(options: Partial<ServerOptions> = {}): Promise<SemembedServer> {
  return createServer({
    models: [{ path: fixture('fashion-tiny.onnx') }],
    ep: 'cpu',
    port: 0,
    logger: 'silent',
    ...options,
  });
}

// @semembed/test-fixtures: the one home of the test fixtures that several packages' tests read (MANIFEST.md says
// where each came from). Node only: tests use it, nothing we ship does.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export { slowHeaders } from './slow-client.js';

/** The folder that holds the fixtures (models/, cvjena/, keras-h5/). */
export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/**
 * Absolute path of a shared fixture, named relative to fixtures/ (e.g. `models/fashion-tiny.onnx`). Throws at once
 * for a name that is not there, so a test that asks for a moved or misspelt fixture fails naming it, instead of
 * failing later on a missing file somewhere inside the code under test.
 */
export function fixturePath(name: string): string {
  const rel = normalize(name);
  if (isAbsolute(rel) || rel === '..' || rel.startsWith('..' + sep)) {
    throw new Error(`@semembed/test-fixtures: '${name}' is not a name inside fixtures/`);
  }
  const path = join(FIXTURES_DIR, rel);
  if (!existsSync(path)) throw new Error(`@semembed/test-fixtures: no fixture '${name}' (looked in ${FIXTURES_DIR})`);
  return path;
}

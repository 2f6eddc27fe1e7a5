import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, fixturePath } from '../src/index.js';

const PKG = join(import.meta.dirname, '..');
const files = (readdirSync(FIXTURES_DIR, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
  .filter((d) => d.isFile())
  .map((d) => relative(FIXTURES_DIR, join(d.parentPath, d.name)))
  .sort();
/** `file` -> sha256 prefix, from the MANIFEST's table rows. */
const listed = new Map(
  [...readFileSync(join(PKG, 'MANIFEST.md'), 'utf8').matchAll(/^\| `([^`]+)` \| ([0-9a-f]{16}) \|/gm)].map((m) => [
    m[1],
    m[2],
  ]),
);

describe('MANIFEST.md describes every shared fixture', () => {
  it('lists exactly the files under fixtures/', () => {
    expect(files.length).toBeGreaterThan(10);
    expect([...listed.keys()].sort()).toEqual(files);
  });
  it.each(files)('%s has the sha256 the MANIFEST gives', (f) => {
    const sha = createHash('sha256')
      .update(readFileSync(join(FIXTURES_DIR, f)))
      .digest('hex');
    expect(sha.slice(0, 16)).toBe(listed.get(f));
  });
});

describe('fixturePath', () => {
  it('resolves a name inside fixtures/ to an absolute path of that file', () => {
    const p = fixturePath('models/fashion-tiny.onnx');
    expect(p).toBe(join(FIXTURES_DIR, 'models', 'fashion-tiny.onnx'));
    expect(readFileSync(p).subarray(0, 2).length).toBe(2);
  });
  it('names the fixture that is missing', () => {
    expect(() => fixturePath('models/nope.onnx')).toThrow(/no fixture 'models\/nope\.onnx'/);
  });
  it('refuses names outside fixtures/', () => {
    expect(() => fixturePath('../package.json')).toThrow(/not a name inside fixtures/);
    expect(() => fixturePath('/etc/passwd')).toThrow(/not a name inside fixtures/);
  });
});

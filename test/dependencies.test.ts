// Every package declares what its sources import (a fresh install links only declared packages), and the ones the
// issue found declared but unused stay removed.
import { builtinModules } from 'node:module';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

interface Pkg {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const workspaces = [
  ...readdirSync(join(ROOT, 'packages')).map((d) => join('packages', d)),
  join('tools', 'cli'),
].filter((d) => existsSync(join(ROOT, d, 'package.json')));
const readPkg = (dir: string): Pkg => JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|mts|js|mjs)$/.test(f) && !f.endsWith('.d.ts') ? [p] : [];
  });

/** Package names imported by a workspace's src/ (static, dynamic, require / createRequire), and if only as types. */
function imports(dir: string): Map<string, { typeOnly: boolean; file: string }> {
  const used = new Map<string, { typeOnly: boolean; file: string }>();
  const src = join(ROOT, dir, 'src');
  if (!existsSync(src)) return used;
  // static import / export (type-only in group 1), dynamic import(), require / require.resolve, createRequire(...)('x')
  const re = new RegExp(
    [
      String.raw`(?:^|[^\w.])(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]`,
      String.raw`import\(\s*['"]([^'"]+)['"]`,
      String.raw`require(?:\.resolve)?\(\s*['"]([^'"]+)['"]`,
      String.raw`\)\(\s*['"]([^'"./][^'"]*)['"]\)`,
    ].join('|'),
    'gm',
  );
  for (const file of sources(src)) {
    for (const m of readFileSync(file, 'utf8').matchAll(re)) {
      const spec = m[2] ?? m[3] ?? m[4] ?? m[5];
      if (!spec || /^[./]/.test(spec) || spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]))
        continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      const prev = used.get(name);
      used.set(name, { typeOnly: (prev?.typeOnly ?? true) && m[1] !== undefined, file: file.slice(ROOT.length + 1) });
    }
  }
  return used;
}

describe('dependency declarations', () => {
  for (const dir of workspaces) {
    it(`${dir}: everything its sources import is declared`, () => {
      const pkg = readPkg(dir);
      const runtime = { ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies };
      const undeclared = [...imports(dir)]
        .filter(
          ([name, u]) =>
            name !== pkg.name && !(name in runtime) && !(u.typeOnly && name in (pkg.devDependencies ?? {})),
        )
        .map(([name, u]) => `${name} (${u.file})`);
      expect(undeclared).toEqual([]);
    });
  }

  it('the scan sees real imports (sharp in datasets, faiss-node through createRequire in retrieval)', () => {
    expect(imports(join('packages', 'datasets')).has('sharp')).toBe(true);
    expect(imports(join('packages', 'retrieval')).has('faiss-node')).toBe(true);
  });

  it.each([
    ['packages/datasets', 'sharp', true],
    ['packages/trainer', 'cli-progress', false],
    ['packages/retrieval', '@semembed/hierarchy', false],
  ])('%s declares %s: %s (and imports it exactly then)', (dir, dep, declared) => {
    const pkg = readPkg(dir);
    expect(dep in (pkg.dependencies ?? {})).toBe(declared);
    expect(imports(dir).has(dep)).toBe(declared);
  });

  it('package-lock.json lists the same for those workspaces (npm ci needs them in sync)', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages;
    for (const dir of ['packages/datasets', 'packages/trainer', 'packages/retrieval']) {
      expect(lock[dir].dependencies, dir).toEqual(readPkg(dir).dependencies);
    }
  });
});

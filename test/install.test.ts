// A fresh clone works as the README says: versions checked with a clear message, dist/ built on install (or on the
// CLI's first run), `npx semembed` resolves, the licence is there.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const checkEngines = (env: Record<string, string>) =>
  spawnSync(process.execPath, [join(ROOT, 'scripts', 'check-engines.mjs')], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

describe('Node.js and npm versions', () => {
  it('engines: Node ^20.19 (yargs 18, vite 8), npm >= 11.16 (allowScripts); devEngines and packageManager agree', () => {
    expect(pkg.engines).toEqual({ node: '^20.19.0 || >=22.12.0', npm: '>=11.16.0' });
    expect(pkg.devEngines.runtime).toEqual({ name: 'node', version: pkg.engines.node, onFail: 'error' });
    expect(pkg.devEngines.packageManager).toEqual({ name: 'npm', version: pkg.engines.npm, onFail: 'error' });
    expect(pkg.allowScripts['faiss-node']).toBe(false);
    expect(checkEngines({ SEMEMBED_NPM_VERSION: pkg.packageManager.replace('npm@', '') }).status).toBe(0);
  });

  it('this machine passes', () => {
    const r = checkEngines({});
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each([
    [
      { SEMEMBED_NPM_VERSION: '10.8.2' },
      /^check-engines: npm 10\.8\.2 is too old: this project needs npm >=11\.16\.0, whose "allowScripts" .*faiss-node.*npm install -g npm@11\.\d+\.\d+/,
    ],
    [{ SEMEMBED_NPM_VERSION: '11.15.9' }, /npm 11\.15\.9 is too old/],
    [
      { SEMEMBED_NODE_VERSION: 'v20.11.1' },
      /^check-engines: Node\.js v20\.11\.1 is too old or unsupported: this project needs \^20\.19\.0 \|\| >=22\.12\.0/,
    ],
    [{ SEMEMBED_NODE_VERSION: 'v22.3.0' }, /Node\.js v22\.3\.0 is too old/],
    [{ SEMEMBED_NODE_VERSION: 'v18.20.0' }, /Node\.js v18\.20\.0/],
  ])('%j: one line saying what to upgrade, exit 1', (env, message) => {
    const r = checkEngines(env);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it.each([['v20.19.0'], ['v20.20.2'], ['v22.12.0'], ['v24.1.0']])('Node %s is accepted', (v) => {
    expect(checkEngines({ SEMEMBED_NODE_VERSION: v, SEMEMBED_NPM_VERSION: '11.16.0' }).status).toBe(0);
  });

  it('npm start / npm test check them first', () => {
    expect(readFileSync(join(ROOT, 'scripts', 'ensure-installed.sh'), 'utf8')).toMatch(
      /^node scripts\/check-engines\.mjs/m,
    );
  });
});

describe('dist/ after npm ci', () => {
  it('the root "prepare" script (run by npm ci) builds every package', () => {
    expect(pkg.scripts.prepare).toBe('bash scripts/prepare.sh');
    expect(readFileSync(join(ROOT, 'scripts', 'prepare.sh'), 'utf8')).toMatch(/^if npx --no-install turbo run build/m);
  });

  it('npx semembed resolves to the CLI in this checkout', () => {
    const r = spawnSync('npx', ['--no-install', 'semembed', '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'tools', 'cli', 'package.json'), 'utf8')).version);
  });

  // A checkout installed with --ignore-scripts: the bin builds once (through `npm run build`), then runs.
  function fakeCheckout(build: string) {
    const root = mkdtempSync(join(tmpdir(), 'cli-fresh-'));
    mkdirSync(join(root, 'tools', 'cli', 'bin'), { recursive: true });
    copyFileSync(join(ROOT, 'tools', 'cli', 'bin', 'semembed.js'), join(root, 'tools', 'cli', 'bin', 'semembed.js'));
    writeFileSync(join(root, 'turbo.json'), '{}');
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ name: 'fake', private: true, type: 'module', scripts: { build } }),
    );
    return root;
  }
  const dist = 'export async function main(argv) { console.log(`main ${argv.join(" ")}`); return 3; }';

  it('without dist/ the bin builds it once, saying so, then runs the command', () => {
    const root = fakeCheckout(`mkdir -p tools/cli/dist && echo '${dist}' > tools/cli/dist/index.js`);
    const bin = join(root, 'tools', 'cli', 'bin', 'semembed.js');
    const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(r.stderr).toMatch(/^semembed: first run without dist\/ .*building the packages once \(npm run build\)/);
    expect(r.stdout).toBe('main --help\n');
    expect(r.status).toBe(3);
    expect(existsSync(join(root, 'tools', 'cli', 'dist', 'index.js'))).toBe(true);
    const again = spawnSync(process.execPath, [bin, 'x'], { encoding: 'utf8' });
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe('main x\n');
  });

  it('a failing build is one clear line, exit 70', () => {
    const root = fakeCheckout('exit 1');
    const r = spawnSync(process.execPath, [join(root, 'tools', 'cli', 'bin', 'semembed.js'), '--help'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(70);
    expect(r.stderr.trim().split('\n').pop()).toBe(
      'semembed: the build failed (errors above); fix them and run: npm run build',
    );
  });
});

describe('README', () => {
  it("quick start gives the main job's time quiet and busy, as measured, and what makes it slower", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## The reference'));
    expect(quick).toMatch(/\*\*5 min\*\* on a quiet 2-core machine/);
    expect(quick).toMatch(/459 CPU-seconds in all\); on cores shared with other heavy jobs it gets only its share/);
    expect(quick).toMatch(/What makes it slower: other processes on the same cores/);
    expect(quick).toMatch(/npx semembed --help|`npx semembed` right after `npm ci`/);
    // the quiet figure and the CPU time are the recorded benchmark's
    const recorded = readFileSync(join(ROOT, 'bench', 'results', 'pipeline.md'), 'utf8');
    expect(recorded).toMatch(/\*\*4\.7 min wall\*\*\s+for the whole\s+`npm start`/);
    expect(recorded).toMatch(/459 CPU-s user/);
  });
});

describe('licence', () => {
  it('root LICENSE: MIT, semantic-embeddings contributors; package.json says MIT', () => {
    const text = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} semantic-embeddings contributors\n/);
    expect(text).toMatch(/THE SOFTWARE IS PROVIDED "AS IS"/);
    expect(pkg.license).toBe('MIT');
  });
});

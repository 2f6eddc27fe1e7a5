#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// A checkout installed without its scripts (`npm ci --ignore-scripts`) has no dist/ yet: build it once, saying so,
// instead of failing with ERR_MODULE_NOT_FOUND. (`npm ci` builds it in the root "prepare" script.)
const dist = new URL('../dist/index.js', import.meta.url);
if (!existsSync(dist)) {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  if (!existsSync(`${root}turbo.json`)) {
    console.error(`semembed: ${fileURLToPath(dist)} is missing and this is not a source checkout to build it in`);
    process.exit(70);
  }
  console.error(
    'semembed: first run without dist/ (installed with --ignore-scripts?): building the packages once (npm run build)...',
  );
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !existsSync(dist)) {
    console.error('semembed: the build failed (errors above); fix them and run: npm run build');
    process.exit(70);
  }
}

const { main } = await import(dist.href);
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // Last line of defence: commands report their own errors; anything reaching here is a bug.
    console.error(`semembed: internal error: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 70;
  },
);

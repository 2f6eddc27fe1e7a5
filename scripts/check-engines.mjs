// Node.js and npm versions this checkout needs (package.json "engines"), with what to do when they are too old.
// Run first by scripts/ensure-installed.sh (npm start, npm test) and by the CLI's first-run build; plain Node.js,
// no dependencies, so it works before `npm ci`. npm >= 10.9 also refuses an unfit version itself (devEngines).
//   node scripts/check-engines.mjs        exit 0, or 1 with one line per problem
// SEMEMBED_NODE_VERSION / SEMEMBED_NPM_VERSION stand in for the real versions (tests).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const parse = (v) => v.replace(/^v/, '').split('-')[0].split('.').map(Number);
const cmp = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
/** The range forms package.json uses: "^x.y.z", ">=x.y.z", joined by "||". */
function satisfies(version, range) {
  const v = parse(version);
  return range.split('||').some((part) => {
    const p = part.trim();
    const m = /^(\^|>=)(\d+)\.(\d+)\.(\d+)$/.exec(p);
    if (!m) throw new Error(`check-engines: cannot read the range '${p}' in package.json engines`);
    const base = m.slice(2).map(Number);
    if (cmp(v, base) < 0) return false;
    return m[1] === '>=' || v[0] === base[0];
  });
}

function npmVersion() {
  if (process.env.SEMEMBED_NPM_VERSION) return process.env.SEMEMBED_NPM_VERSION;
  // Under npm (npm start / npm test) the user agent names it: "npm/11.19.1 node/v20.20.2 ...".
  const ua = /^npm\/(\S+)/.exec(process.env.npm_config_user_agent ?? '');
  if (ua) return ua[1];
  try {
    return execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const node = process.env.SEMEMBED_NODE_VERSION ?? process.version;
const npm = npmVersion();
const problems = [];
if (!satisfies(node, pkg.engines.node)) {
  problems.push(
    `Node.js ${node} is too old or unsupported: this project needs ${pkg.engines.node} (yargs 18 and vite 8 ` +
      'require it); install Node.js 20.19 or newer from https://nodejs.org or your distribution',
  );
}
if (npm === undefined) problems.push('npm not found: it comes with Node.js');
else if (!satisfies(npm, pkg.engines.npm)) {
  const want = pkg.packageManager.replace(/^npm@/, '');
  problems.push(
    `npm ${npm} is too old: this project needs npm ${pkg.engines.npm}, whose "allowScripts" setting keeps ` +
      "faiss-node's install script (a download and a source build of FAISS) from running; we build faiss-node " +
      `against the system FAISS instead. Upgrade with: npm install -g npm@${want} (or: corepack enable npm)`,
  );
}
for (const p of problems) console.error(`check-engines: ${p}`);
process.exitCode = problems.length ? 1 : 0;

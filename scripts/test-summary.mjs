// Adds up every workspace's vitest JSON report into one closing line, so a reader of the CI log
// (human or machine) sees the total without scrolling through turbo's grouped output.
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['packages', 'tools'];
const dirs = [...roots.flatMap((r) => (existsSync(r) ? readdirSync(r).map((d) => join(r, d)) : [])), 'test', 'bench'];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const dir of dirs) {
  const file = join(dir, 'test-results', 'vitest.json');
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
if (passed + failed === 0) {
  console.error('test summary: no test results found');
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);

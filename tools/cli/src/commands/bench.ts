import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import type { ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';

export const command = 'bench';
export const describe = 'Run the benchmark suite and write bench/BENCHMARKS.md (needs the repository checkout)';

export const builder = (y: Argv) =>
  y
    .option('only', {
      type: 'string',
      describe: 'Comma-separated areas: hierarchy,datasets,converter,retrieval,trainer,runtime-node,runtime-web',
    })
    .option('assemble', {
      type: 'boolean',
      default: false,
      describe: 'Only rebuild BENCHMARKS.md from bench/results/*.md',
    });

/** `semembed bench`: the repository's benchmark suite (bench/run.mjs), which writes bench/BENCHMARKS.md. */
export function handler(argv: ArgsOf<typeof builder>): void {
  const script = fileURLToPath(new URL('../../../../bench/run.mjs', import.meta.url));
  if (!existsSync(script))
    throw new UsageError(`bench: ${script} not found (the benchmarks live in the repository checkout)`);
  const args = [script, ...(argv.only ? ['--only', argv.only] : []), ...(argv.assemble ? ['--assemble'] : [])];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new UsageError(`bench: exited with ${r.status}`);
}

import type { Argv } from 'yargs';
import { UsageError } from './errors.js';

/** The reference's taxonomy flags, shared by every command that reads a hierarchy file. */
export function withTaxonomyOptions<T>(y: Argv<T>) {
  return y
    .option('hierarchy', { type: 'string', demandOption: true, describe: 'Taxonomy file: one "parent child" relation per line' })
    .option('is_a', { alias: 'is-a', type: 'boolean', default: false, describe: 'Lines are "child parent" (is-a) relations' })
    .option('str_ids', { alias: 'str-ids', type: 'boolean', default: false, describe: 'Class ids are strings, not integers' });
}

/** --workers: 'auto' or a positive integer. */
export function parseWorkers(v: string | number | undefined): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--workers must be auto or an integer from 1 to 64, got '${v}'`);
  return n;
}

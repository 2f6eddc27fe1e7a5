import type { Argv } from 'yargs';

/** The reference's taxonomy flags, shared by every command that reads a hierarchy file. */
export function withTaxonomyOptions<T>(y: Argv<T>) {
  return y
    .option('hierarchy', { type: 'string', demandOption: true, describe: 'Taxonomy file: one "parent child" relation per line' })
    .option('is_a', { alias: 'is-a', type: 'boolean', default: false, describe: 'Lines are "child parent" (is-a) relations' })
    .option('str_ids', { alias: 'str-ids', type: 'boolean', default: false, describe: 'Class ids are strings, not integers' });
}

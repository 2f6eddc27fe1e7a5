// Our defaults, read from the yargs definitions, against the reference scripts' argparse defaults
// (fixtures/reference-defaults.json): a default that drifts, or a reference flag that appears or goes away, fails.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { commands } from '../src/index.js';
import { optionsOf, withSpellingAliases } from '../src/options.js';
import type { Command } from '../src/command.js';
// @ts-expect-error -- plain .mjs shared with `node test/defaults-table.mjs`, no types
import { defaultsTable } from './defaults-table.mjs';

interface Entry {
  reference: unknown;
  ours?: unknown;
  why?: string;
}
type Table = Record<string, { script: string; flags: Record<string, Entry> }>;

const raw = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'reference-defaults.json'), 'utf8'));
const table: Table = Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('_'))) as Table;

const name = (c: Command<unknown>) => (Array.isArray(c.command) ? c.command[0] : (c.command as string)).split(' ')[0];

/** What our definition says for a flag, in the table's vocabulary. */
function ours(command: string, flag: string): unknown {
  const c = commands.find((x) => name(x) === command);
  if (!c) throw new Error(`no command ${command}`);
  const o = optionsOf(withSpellingAliases(c.builder(yargs([]))));
  if (!(flag in o.key)) return '<not offered>';
  if (flag in o.demandedOptions) return '<required>';
  return flag in o.default ? o.default[flag] : null;
}

describe('defaults equal the reference scripts', () => {
  for (const [command, { script, flags }] of Object.entries(table)) {
    it(`${command} (${script})`, () => {
      let compared = 0;
      for (const [flag, e] of Object.entries(flags)) {
        const expected = 'ours' in e ? e.ours : e.reference;
        expect(ours(command, flag), `--${flag}`).toEqual(expected);
        if ('ours' in e) {
          // a recorded difference is a real one, with its reason
          expect(e.ours, `--${flag}`).not.toEqual(e.reference);
          expect(e.why, `--${flag}`).toMatch(/\w{3}/);
        }
        compared++;
      }
      expect(compared).toBe(Object.keys(flags).length);
    });
  }

  it('compute-class-embedding without --method is unitsphere, as the reference since 2018', () => {
    expect(ours('compute-class-embedding', 'method')).toBe('unitsphere');
  });

  it('the README table is the one the JSON gives', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const m = /<!-- defaults-table: begin[^>]*-->\n([\s\S]*?)<!-- defaults-table: end -->/.exec(readme);
    expect(m, 'README.md has the defaults-table markers').not.toBeNull();
    expect(m![1]).toBe(defaultsTable(raw));
  });
});

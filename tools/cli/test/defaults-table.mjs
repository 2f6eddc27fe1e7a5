// The README's defaults table, rendered from test/fixtures/reference-defaults.json. test/defaults.test.ts checks that
// tools/cli/README.md holds exactly this; after editing the JSON, `node test/defaults-table.mjs` prints the new table.
import { readFileSync } from 'node:fs';

const show = (v) =>
  v === '<required>' ? 'required' : v === '<not offered>' ? '—' : v === null ? '(none)' : `\`${JSON.stringify(v)}\``;

export function defaultsTable(table) {
  const lines = [];
  for (const [command, { script, flags }] of Object.entries(table).filter(([k]) => !k.startsWith('_'))) {
    lines.push(
      `**${command}** (\`${script}\`)`,
      '',
      '| flag | reference | ours | why different |',
      '|---|---|---|---|',
    );
    for (const [flag, e] of Object.entries(flags)) {
      lines.push(`| \`--${flag}\` | ${show(e.reference)} | ${'ours' in e ? show(e.ours) : 'same'} | ${e.why ?? ''} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const json = JSON.parse(readFileSync(new URL('./fixtures/reference-defaults.json', import.meta.url), 'utf8'));
  process.stdout.write(defaultsTable(json));
}

// The semembed CLI as the kit runs it (bundled by pack.sh into app/cli.mjs): the same main() as tools/cli/bin.
import { main } from 'semembed';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`semembed (kit): internal error: ${err?.message ?? err}`);
    process.exitCode = 70;
  },
);

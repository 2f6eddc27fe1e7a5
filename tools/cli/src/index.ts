import { createRequire } from 'node:module';
import yargs from 'yargs';
import type { Argv } from 'yargs';
import type { Command } from './command.js';
import { isUserError } from './errors.js';
import { printable } from './printable.js';
import { describeFsError } from './fs-errors.js';
import { FlagError, declaredFlags, suggestFlag, withSpellingAliases } from './options.js';
import * as computeClassEmbeddingCommand from './commands/compute-class-embedding.js';
import * as convertCommand from './commands/convert.js';
import * as importCommand from './commands/import.js';
import * as learnImageEmbeddingsCommand from './commands/learn-image-embeddings.js';
import * as embedCommand from './commands/embed.js';
import * as serveCommand from './commands/serve.js';
import * as evaluateRetrievalCommand from './commands/evaluate-retrieval.js';
import * as evaluateClassificationCommand from './commands/evaluate-classification.js';
import * as indexBuildCommand from './commands/index-build.js';
import * as pipelineCommand from './commands/pipeline.js';
import * as benchCommand from './commands/bench.js';
import * as webSiteCommand from './commands/web-site.js';
import * as benchmarkCommand from './commands/benchmark.js';
import * as quantizeCommand from './commands/quantize.js';

// One line per subcommand; each is a module src/commands/<name>.ts exporting command, describe, builder and handler
// (yargs' command-module form; see command.ts).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command has its own argument type
export const commands: Command<any>[] = [
  computeClassEmbeddingCommand,
  learnImageEmbeddingsCommand,
  convertCommand,
  importCommand,
  embedCommand,
  serveCommand,
  evaluateRetrievalCommand,
  evaluateClassificationCommand,
  indexBuildCommand,
  webSiteCommand,
  pipelineCommand,
  benchCommand,
  benchmarkCommand,
  quantizeCommand,
];

const commandNames = commands.map((c) => (Array.isArray(c.command) ? c.command[0] : c.command).split(' ')[0]);

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** A command line yargs rejected (unknown or missing flag, bad value): exit 2, nothing was run. */
class CommandLineError extends Error {}

/** "Unknown arguments: metod, metodLr" -> one line naming the first one typed and the closest declared flag. */
function describeUsageFailure(msg: string, where: string, known: string[], argv: string[]): string {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return msg.includes('--help') ? msg : `${msg} (${where} --help)`;
  const names = m[1].split(', ');
  if (where === 'semembed' && argv[0] !== undefined && !argv[0].startsWith('-')) {
    // No command matched: the first word is the typo, whatever flags follow it.
    const hint = suggestFlag(argv[0], commandNames);
    return `unknown command '${argv[0]}'${hint ? `; did you mean ${hint}?` : ''} (semembed --help lists the commands)`;
  }
  // yargs also lists the camelCase copy it made of a dashed typo; report what the user typed.
  const typed = names.find((t) => argv.some((a) => a === `--${t}` || a.startsWith(`--${t}=`) || a === `-${t}`));
  if (typed === undefined) {
    // `--json -`: yargs takes a lone '-' for a positional, not the flag's value.
    const after = argv[argv.indexOf('-') - 1];
    if (names[0] === '-' && after?.startsWith('--'))
      return `${after} -: '-' (standard output) is not supported; give a file name (${where} --help)`;
    return `unexpected argument '${names[0]}' (${where} --help)`;
  }
  const hint = suggestFlag(typed, known);
  return `unknown flag ${typed.length === 1 ? '-' : '--'}${typed}${hint ? `; did you mean --${hint}?` : ''} (${where} --help lists the flags)`;
}

export async function main(argv: string[]): Promise<number> {
  // Filled in by the builder of the command that matched: which command, and the flags it declares.
  let where = 'semembed';
  let known: string[] = ['help', 'version'];
  let cli = yargs(argv)
    .scriptName('semembed')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'Name a command; `semembed --help` lists them.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(version)
    .wrap(Math.min(120, process.stdout.columns || 120));
  for (const c of commands) {
    cli = cli.command(
      c.command,
      c.describe,
      (y: Argv) => {
        const built = withSpellingAliases(c.builder(y));
        where = `semembed ${commandNames[commands.indexOf(c)]}`;
        known = declaredFlags(built);
        return built;
      },
      c.handler,
    );
  }
  // Throwing here stops yargs before any handler runs: a command line with a typo never does half its work.
  // A check or coerce that threw reaches here as yargs' YError (its message kept); errors from a handler reach
  // .fail() too and are passed on as they are.
  cli = cli.fail((msg, err) => {
    if (err && !(err instanceof FlagError) && err.name !== 'YError') throw err;
    const line = err ? err.message : describeUsageFailure(msg.replace(/\s*\n\s*/g, ' '), where, known, argv);
    throw new CommandLineError(line);
  });
  try {
    await cli.parseAsync();
  } catch (err) {
    // yargs rejects with the original error (not what .fail() threw) when an async check or handler failed.
    if (err instanceof CommandLineError || err instanceof FlagError) {
      console.error(`semembed: ${printable(err.message)}`);
      return 2;
    }
    if (isUserError(err)) {
      console.error(`semembed: ${printable(err.message)}`);
      return 1;
    }
    const fsLine = describeFsError(err);
    if (fsLine) {
      console.error(`semembed: ${printable(fsLine)}`);
      return 1;
    }
    throw err;
  }
  return 0;
}

export { UsageError, isUserError } from './errors.js';
export type { Command } from './command.js';

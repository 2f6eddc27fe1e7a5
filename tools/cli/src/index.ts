import yargs, { type Argv } from 'yargs';
import { isUserError } from './errors.js';
import { computeClassEmbeddingCommand } from './commands/compute-class-embedding.js';
import { convertCommand } from './commands/convert.js';
import { importCommand } from './commands/import.js';
import { learnImageEmbeddingsCommand } from './commands/learn-image-embeddings.js';
import { embedCommand } from './commands/embed.js';
import { serveCommand } from './commands/serve.js';
import { evaluateRetrievalCommand } from './commands/evaluate-retrieval.js';
import { evaluateClassificationCommand } from './commands/evaluate-classification.js';
import { indexCommand } from './commands/index.js';
import { pipelineCommand } from './commands/pipeline.js';
import { benchCommand } from './commands/bench.js';
import { webSiteCommand } from './commands/web-site.js';

/** A subcommand: registers itself on yargs; its handler throws user-facing errors on bad input. */
export interface Command {
  register(cli: Argv): Argv;
}

// One line per subcommand; each lives in src/commands/<name>.ts.
const commands: Command[] = [computeClassEmbeddingCommand, learnImageEmbeddingsCommand, convertCommand, importCommand, embedCommand, serveCommand, evaluateRetrievalCommand, evaluateClassificationCommand, indexCommand, webSiteCommand, pipelineCommand, benchCommand];

export async function main(argv: string[]): Promise<number> {
  let cli = yargs(argv)
    .scriptName('semembed')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'Name a command; `semembed --help` lists them.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110));
  for (const command of commands) cli = command.register(cli);
  let failure: unknown;
  let usageFailure: string | undefined;
  cli = cli.fail((msg, err) => {
    if (err) failure = err;
    else usageFailure = msg;
  });
  try {
    await cli.parseAsync();
  } catch (err) {
    failure = err;
  }
  if (usageFailure !== undefined) {
    console.error(`semembed: ${usageFailure}`);
    return 2;
  }
  if (failure !== undefined) {
    if (isUserError(failure)) {
      console.error(`semembed: ${failure.message}`);
      return 1;
    }
    throw failure;
  }
  return 0;
}

export { UsageError, isUserError } from './errors.js';

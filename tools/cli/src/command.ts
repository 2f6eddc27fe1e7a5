import type { ArgumentsCamelCase, Argv } from 'yargs';

/**
 * A subcommand, declared rather than registered: index.ts adds the kebab-case aliases, the strict checks and the
 * "did you mean" suggestions to every builder in one place. Builders import nothing heavy (they run for `--help`
 * too); handlers load their packages with `await import()` so each command pays only for what it uses.
 */
export interface Command<U = unknown> {
  command: string | readonly string[];
  describe: string;
  builder: (y: Argv) => Argv<U>;
  handler: (argv: ArgumentsCamelCase<U>) => void | Promise<void>;
}

/** Identity with inference: the handler's argument type comes from the builder's option chain. */
export function defineCommand<U>(c: Command<U>): Command<U> {
  return c;
}

/** The parsed arguments of a builder, for handlers written as separate functions. */
export type ArgsOf<B> = B extends (y: Argv) => Argv<infer U> ? ArgumentsCamelCase<U> : never;

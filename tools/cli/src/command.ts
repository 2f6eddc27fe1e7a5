import type { ArgumentsCamelCase, Argv } from 'yargs';

/**
 * A subcommand: a module src/commands/<name>.ts exporting `command`, `describe`, `builder` and `handler` (yargs'
 * command-module form), one line in index.ts's list. index.ts adds the kebab-case aliases, the strict checks and the
 * "did you mean" suggestions to every builder in one place. Builders import nothing heavy (they run for `--help`
 * too); handlers load their packages with `await import()` so each command pays only for what it uses.
 */
export interface Command<U = unknown> {
  command: string | readonly string[];
  describe: string;
  builder: (y: Argv) => Argv<U>;
  // Method syntax: a module's handler takes its own builder's arguments, and the list holds them as Command<any>.
  handler(argv: ArgumentsCamelCase<U>): void | Promise<void>;
}

/** The parsed arguments of a builder, for handlers written as separate functions. */
export type ArgsOf<B> = B extends (y: Argv) => Argv<infer U> ? ArgumentsCamelCase<U> : never;

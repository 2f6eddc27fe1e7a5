import { UserError } from '@semembed/formats/errors';

/**
 * The CLI's own user errors (a flag value that does not fit, an output that exists, ...). Every package's errors
 * extend the same UserError base (@semembed/formats): the CLI prints `semembed: <message>` for any of them and
 * exits with its exitCode (1), without a stack trace; yargs-level flag errors exit 2 (index.ts).
 */
export class UsageError extends UserError {
  constructor(message: string, code = 'USAGE') {
    super(message, { code });
  }
}

export { isUserError } from '@semembed/formats/errors';

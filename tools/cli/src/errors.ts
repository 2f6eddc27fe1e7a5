/**
 * An error whose message is meant for the user as it is: the CLI prints it as one line and exits
 * non-zero, without a stack trace. Packages throw their own error classes; the CLI recognises any
 * error carrying `userFacing = true` (see isUserError).
 */
export class UsageError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isUserError(err: unknown): err is Error {
  return err instanceof Error && (err as { userFacing?: unknown }).userFacing === true;
}

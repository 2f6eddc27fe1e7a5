/**
 * The one base class of the errors a user can cause and act on (bad file, bad flag, bad field). Every
 * package's error class extends it; the CLI prints `semembed: <message>` and exits with `exitCode`, the
 * server answers with `statusCode`. Anything that is not a UserError is a bug and keeps its stack trace.
 *
 * Browser-safe (no `node:` imports): runtime-web and @semembed/model import it as `@semembed/formats/errors`.
 */
export class UserError extends Error {
  /** Kept for code (and worker messages) that checks the flag instead of the class. */
  readonly userFacing = true;
  /** A stable name for the kind of problem (e.g. 'SIDECAR_INVALID'); tests and callers match it, not the text. */
  readonly code: string;
  /** Process exit status when this error ends a CLI command (1: bad input; 2 is reserved for bad flags). */
  readonly exitCode: number;
  /** HTTP status the server answers with when this error reaches a route. */
  readonly statusCode: number;

  constructor(
    message: string,
    options: { code?: string; exitCode?: number; statusCode?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'USER_ERROR';
    this.exitCode = options.exitCode ?? 1;
    this.statusCode = options.statusCode ?? 400;
  }
}

/**
 * True for a UserError, also one from another copy of this module (a bundled page, a worker) or an error
 * that carries the `userFacing` flag, as errors rebuilt from worker messages do.
 */
export function isUserError(
  err: unknown,
): err is Error & { userFacing: true; exitCode?: number; statusCode?: number; code?: string } {
  return err instanceof UserError || (err instanceof Error && (err as { userFacing?: unknown }).userFacing === true);
}

/** Bad input file: the message names the file and what is wrong. */
export class FormatError extends UserError {
  constructor(message: string, code = 'FORMAT_INVALID') {
    super(message, { code });
  }
}

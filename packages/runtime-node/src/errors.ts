/**
 * User-facing errors: the CLI prints `semembed: <message>` for them, the server answers with their
 * `statusCode` and message. Anything else is a bug and is logged with an id.
 */
export class RuntimeNodeError extends Error {
  readonly userFacing = true;
  /** HTTP status the server answers with when this error reaches a route. */
  readonly statusCode: number;
  constructor(message: string, statusCode = 400) {
    super(message);
    this.name = new.target.name;
    this.statusCode = statusCode;
  }
}

/** The model or its sidecar cannot be used (missing file, bad field, no execution provider). */
export class ModelLoadError extends RuntimeNodeError {
  constructor(message: string) {
    super(message, 500);
  }
}

/** An input image cannot be decoded or is not an accepted format (400), or is too large (413). */
export class ImageError extends RuntimeNodeError {}

/** A tensor given to the model has the wrong shape, type or length. */
export class TensorShapeError extends RuntimeNodeError {}

export function isUserFacing(err: unknown): err is Error & { userFacing: true } {
  return err instanceof Error && (err as { userFacing?: unknown }).userFacing === true;
}

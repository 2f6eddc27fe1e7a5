import { UserError } from '@semembed/formats/errors';

/**
 * User-facing errors of this package: the CLI prints `semembed: <message>` for them, the server answers with
 * their `statusCode` and message. Anything else is a bug and is logged with an id.
 */
export class RuntimeNodeError extends UserError {
  constructor(message: string, statusCode = 400, code = 'RUNTIME_NODE') {
    super(message, { statusCode, code });
  }
}

/** The model or its sidecar cannot be used (missing file, bad field, no execution provider). */
export class ModelLoadError extends RuntimeNodeError {
  constructor(message: string) {
    super(message, 500, 'MODEL_LOAD');
  }
}

/** An input image cannot be decoded or is not an accepted format (400), or is too large (413). */
export class ImageError extends RuntimeNodeError {
  constructor(message: string, statusCode = 400) {
    super(message, statusCode, 'IMAGE_INVALID');
  }
}

/** A tensor given to the model has the wrong shape, type or length. */
export class TensorShapeError extends RuntimeNodeError {
  constructor(message: string) {
    super(message, 400, 'TENSOR_SHAPE');
  }
}

import { UserError } from '@semembed/formats/errors';

/** A sidecar (model.json) that is not valid: the message names the file and the field. */
export class SidecarError extends UserError {
  constructor(message: string) {
    // A server with a broken model.json is misconfigured (500); the CLI exits 1.
    super(message, { code: 'SIDECAR_INVALID', statusCode: 500 });
  }
}

/** A tensor or vector that does not fit the model (wrong length, missing output). */
export class TensorError extends UserError {
  constructor(message: string, statusCode = 400) {
    super(message, { code: 'TENSOR_SHAPE', statusCode });
  }
}

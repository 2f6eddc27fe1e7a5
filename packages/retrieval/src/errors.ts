import { UserError } from '@semembed/formats/errors';

/** Bad input to retrieval / classification evaluation: the CLI prints the message and exits 1. */
export class RetrievalError extends UserError {
  constructor(message: string, code = 'RETRIEVAL') {
    super(message, { code });
  }
}

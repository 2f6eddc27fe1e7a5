import { UserError } from '@semembed/formats/errors';

/** A bad architecture name, option or config: the CLI prints the message without a stack trace. */
export class ArchitectureError extends UserError {
  constructor(message: string, code = 'ARCHITECTURE') {
    super(message, { code });
  }
}

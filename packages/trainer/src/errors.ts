import { UserError } from '@semembed/formats/errors';

/** A user-facing error: the CLI prints `semembed: <message>` and exits 1. */
export class TrainerError extends UserError {
  constructor(message: string, code = 'TRAINER') {
    super(message, { code });
  }
}

import { UserError } from '@semembed/formats/errors';

/** Bad input (file, layer, flag): the CLI prints the message as one line and exits 1. */
export class ConverterError extends UserError {
  constructor(message: string, code = 'CONVERTER') {
    super(message, { code });
  }
}

import { UserError } from '@semembed/formats';

/** Bad input to the quantiser (model, calibration data, flags): one line naming the file / tensor / flag. */
export class QuantizeError extends UserError {
  constructor(message: string, code = 'QUANTIZE_INPUT') {
    super(message, { code });
  }
}

import { UserError } from '@semembed/formats/errors';

/** Bad or missing dataset input: the message names the file/folder and what is wrong; the CLI prints it as is. */
export class DatasetError extends UserError {
  constructor(message: string, code = 'DATASET') {
    super(message, { code });
  }
}

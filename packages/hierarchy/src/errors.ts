import { UserError } from '@semembed/formats/errors';

/** Bad taxonomy, class list or embedding input: the message names the file (and line) and what is wrong. */
export class HierarchyError extends UserError {
  constructor(message: string, code = 'HIERARCHY') {
    super(message, { code });
  }
}

/** Bad taxonomy, class list or embedding input: the message names the file (and line) and what is wrong. */
export class HierarchyError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'HierarchyError';
  }
}

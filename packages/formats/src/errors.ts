/** Bad input file: the message names the file and what is wrong; the CLI prints it as it is. */
export class FormatError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

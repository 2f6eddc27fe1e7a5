/** Bad input (file, layer, flag): the CLI prints the message as one line and exits 1. */
export class ConverterError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'ConverterError';
  }
}

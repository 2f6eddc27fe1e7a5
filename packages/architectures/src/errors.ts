/** A bad architecture name, option or config: the CLI prints the message without a stack trace. */
export class ArchitectureError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'ArchitectureError';
  }
}

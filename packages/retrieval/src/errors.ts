/** Bad input to retrieval / classification evaluation: the CLI prints the message and exits 1. */
export class RetrievalError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'RetrievalError';
  }
}

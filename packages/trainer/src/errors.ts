/** A user-facing error: the CLI prints `semembed: <message>` and exits 1. */
export class TrainerError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'TrainerError';
  }
}

/** Bad or missing dataset input: the message names the file/folder and what is wrong; the CLI prints it as is. */
export class DatasetError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

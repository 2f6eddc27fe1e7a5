/**
 * What a user can cause (a file that is not ONNX, a tensor that is not what its header says, a name that is not in
 * the graph). `userFacing` is the flag the CLI checks to print the message as one line instead of a stack trace.
 */
export class OnnxError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'OnnxError';
  }
}

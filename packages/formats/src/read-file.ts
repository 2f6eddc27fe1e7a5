import { readFileSync } from 'node:fs';
import { FormatError } from './errors.js';

/** The whole of an input file, or one FormatError naming it and why it cannot be read (ENOENT, EACCES, ...). */
export function readInputFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new FormatError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

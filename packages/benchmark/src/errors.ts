import { UserError } from '@semembed/formats';

/** Bad input (MODEL, a flag, labelled data), found before any runner starts: one line, exit status 2. */
export class BenchmarkError extends UserError {
  constructor(message: string, code = 'BENCHMARK_INPUT') {
    super(message, { code, exitCode: 2 });
  }
}

/** Thrown by a runner's load() when its runtime turns out to be missing here (a row with the reason, not a failure). */
export class UnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** First line of an error, for table rows. */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const line = msg.split('\n')[0].trim();
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

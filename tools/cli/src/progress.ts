// The one progress bar of the commands and the pipeline: cli-progress on stderr, nothing when progress is off or
// stderr is not a terminal (logs and pipes get the result lines only). Import it from handlers only
// (`await import('../progress.js')`): cli-progress is no start-up cost for `--help`.
import cliProgress from 'cli-progress';

type Payload = Record<string, string>;

export interface ProgressBar {
  update(value: number, payload?: Payload): void;
  stop(): void;
}

/** A bar from 0 to `total`, started now; `format` is cli-progress's ({bar}, {value}, {total}, payload keys). */
export function startProgressBar(
  enabled: boolean,
  format: string,
  total: number,
  options: { payload?: Payload; clearOnComplete?: boolean } = {},
): ProgressBar {
  if (!enabled || process.stderr.isTTY !== true) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format, hideCursor: true, clearOnComplete: options.clearOnComplete ?? false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, options.payload);
  return { update: (value, payload) => bar.update(value, payload), stop: () => bar.stop() };
}

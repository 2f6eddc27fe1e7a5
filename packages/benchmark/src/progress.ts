// A live cli-progress bar per runner on a TTY; one line per finished runner otherwise (CI logs).
import cliProgress from 'cli-progress';

export interface ProgressBar {
  tick(what: string): void;
  done(what: string): void;
}

export interface Progress {
  bar(name: string, total: number): ProgressBar;
  stop(): void;
}

export function createProgress(live: boolean, log: (line: string) => void): Progress {
  if (!live || !process.stderr.isTTY) {
    return {
      bar: (name) => {
        const t0 = performance.now();
        return {
          tick: () => undefined,
          done: (what) => log(`${name}: ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`),
        };
      },
      stop: () => undefined,
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      format: '{name} [{bar}] {value}/{total} | ETA {eta_formatted} | {what}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    bar(name, total) {
      const b = multi.create(total, 0, { name: name.padEnd(20), what: 'loading' });
      let v = 0;
      return {
        tick: (what) => b.update(Math.min(total, ++v), { what }),
        done: (what) => b.update(total, { what: what.slice(0, 60) }),
      };
    },
    stop: () => multi.stop(),
  };
}

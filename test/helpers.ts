// Helpers of the end-to-end tests; running the CLI itself is semembed's `test/run` (shared with the CLI's tests).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnSemembed } from 'semembed/test/run';

export { BIN, ROOT, semembed, spawnSemembed } from 'semembed/test/run';

/** The browser page @semembed/runtime-web's build writes (dist/web), found through the workspace package. */
export const WEB_PAGE = join(dirname(createRequire(import.meta.url).resolve('@semembed/runtime-web')), 'web');

/** Starts `semembed serve` on a free loopback port; `url` resolves once it listens, rejects if it exits first. */
export function startServe(args: string[]) {
  const s = spawnSemembed(['serve', '--port', '0', '--log_level', 'warn', ...args]);
  const url = new Promise<string>((resolve, reject) => {
    s.child.stderr.on('data', () => {
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(s.stderr());
      if (m) resolve(m[1]);
    });
    s.exited.then((code) => reject(new Error(`serve exited with ${code}: ${s.stderr()}`)));
  });
  return { ...s, url };
}

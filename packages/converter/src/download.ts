import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SingleBar } from 'cli-progress';
import { ConverterError } from './errors.js';

/** ~/.cache/semembed/models, or $SEMEMBED_CACHE/models, or $XDG_CACHE_HOME/semembed/models. */
export function defaultCacheDir(): string {
  if (process.env.SEMEMBED_CACHE) return join(process.env.SEMEMBED_CACHE, 'models');
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'semembed', 'models');
}

export interface DownloadOptions {
  url: string;
  /** Folder for the file (created); the file keeps the URL's name. */
  dir: string;
  sha256?: string | null;
  bytes?: number | null;
  /** Show a progress bar on stderr (only when stderr is a TTY). */
  progress?: boolean;
  /** What to tell the user to run once they fetched the file by hand. */
  manualHint?: string;
  fetchImpl?: typeof fetch;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/**
 * Downloads `url` into `dir`, resuming a previous partial download (<file>.part) with an HTTP Range
 * request, and checks size and sha256 where known. Returns the file path; an existing complete file is reused.
 */
export async function downloadFile(o: DownloadOptions): Promise<string> {
  const name = decodeURIComponent(basename(new URL(o.url).pathname));
  mkdirSync(o.dir, { recursive: true });
  const final = join(o.dir, name);
  const part = `${final}.part`;
  const byHand = `fetch it by hand from ${o.url} and save it as ${final}${o.manualHint ? `, or ${o.manualHint}` : ''}`;
  if (existsSync(final)) {
    await verify(final, o);
    return final;
  }
  const have = existsSync(part) ? statSync(part).size : 0;
  const doFetch = o.fetchImpl ?? fetch;
  let res: Response;
  try {
    res = await doFetch(o.url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
    throw new ConverterError(`cannot download ${o.url} (${why}; no network?); ${byHand}`);
  }
  if (res.status === 416 && have > 0) {
    // The partial file is already complete.
    renameSync(part, final);
    await verify(final, o);
    return final;
  }
  if (!res.ok || !res.body) throw new ConverterError(`cannot download ${o.url}: HTTP ${res.status}; ${byHand}`);
  const append = res.status === 206 && have > 0;
  const len = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(len) ? len + (append ? have : 0) : (o.bytes ?? 0);
  const bar =
    o.progress !== false && process.stderr.isTTY
      ? new SingleBar({
          format: `${name} [{bar}] {percentage}% | {value}/{total} bytes | ETA {eta}s`,
          stream: process.stderr,
        })
      : undefined;
  let done = append ? have : 0;
  bar?.start(total || 1, done);
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => {
    done += c.length;
    bar?.update(Math.min(done, total || done));
  });
  try {
    await pipeline(body, createWriteStream(part, { flags: append ? 'a' : 'w' }));
  } catch (e) {
    bar?.stop();
    throw new ConverterError(
      `download of ${o.url} broke off after ${done} bytes (${e instanceof Error ? e.message : String(e)}); run the command again to resume`,
    );
  }
  bar?.stop();
  renameSync(part, final);
  try {
    await verify(final, o);
  } catch (e) {
    rmSync(final, { force: true });
    throw e;
  }
  return final;
}

async function verify(path: string, o: DownloadOptions): Promise<void> {
  if (o.bytes != null) {
    const size = statSync(path).size;
    if (size !== o.bytes)
      throw new ConverterError(`${path}: ${size} bytes, the catalog says ${o.bytes}; delete it and download again`);
  }
  if (o.sha256) {
    const got = await sha256File(path);
    if (got !== o.sha256.toLowerCase())
      throw new ConverterError(
        `${path}: sha256 ${got} differs from the catalog's ${o.sha256}; delete it and download again`,
      );
  }
}

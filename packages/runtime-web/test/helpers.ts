import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, crc32 } from 'node:zlib';
import { chromium, type BrowserContext } from 'playwright-core';
import { fixturePath } from '@semembed/test-fixtures';
import { createServer, type ModelSpec, type SemembedServer, type ServerOptions } from '@semembed/runtime-node';
import { chromiumLaunchOptions, chromiumPath } from '../src/chromium.js';

export const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The tiny test models and images other packages' tests read too (@semembed/test-fixtures, one copy). */
export const fixture = (name: string): string => fixturePath(`models/${name}`);
export const CHROMIUM = chromiumPath();
export const FASHION_T10K = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';
export const ARTIFACTS = join(PKG, 'test-results');

export function tmp(prefix = 'semembed-web-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The built page (dist/web); built here when a test runs before `npm run build`. */
export function builtPage(): string {
  const web = join(PKG, 'dist', 'web');
  if (!existsSync(join(PKG, 'dist', 'index.js'))) {
    const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: PKG, stdio: 'pipe', encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tsc failed: ${r.stdout || r.stderr}`);
  }
  if (!existsSync(join(web, 'index.html'))) {
    const r = spawnSync('npx', ['vite', 'build', '--config', 'page/vite.config.ts'], {
      cwd: PKG,
      stdio: 'pipe',
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`vite build failed: ${r.stderr || r.stdout}`);
  }
  return web;
}

/** Minimal lossless PNG (8-bit gray or RGB), so test images need no imaging library. */
export function png(pixels: Uint8Array, w: number, h: number, channels: 1 | 3): Buffer {
  const raw = Buffer.alloc(h * (1 + w * channels));
  for (let y = 0; y < h; y++) {
    raw[y * (1 + w * channels)] = 0;
    Buffer.from(pixels.buffer, pixels.byteOffset + y * w * channels, w * channels).copy(
      raw,
      y * (1 + w * channels) + 1,
    );
  }
  const chunk = (tag: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(tag, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, channels === 1 ? 0 : 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Chromium as DESIGN.md says (fresh profile, no background traffic); WebGPU on (SwiftShader here). */
export async function launchChromium(extraArgs: string[] = []): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tmp('semembed-chromium-'), {
    ...chromiumLaunchOptions(extraArgs),
    viewport: { width: 1280, height: 800 },
  });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function copyDir(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  cpSync(src, dst, { recursive: true });
}

export function writeText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/**
 * `semembed serve` for a site made by makeSite: its default model (with a gallery if given) and the site as web
 * root, on the CPU, quiet, on a free port unless `port` says otherwise; listening when the promise resolves.
 */
export async function serveSite(
  site: string,
  options: Omit<ServerOptions, 'models' | 'webRoot'> & { gallery?: ModelSpec['gallery'] } = {},
): Promise<{ server: SemembedServer; base: string }> {
  const { gallery, ...rest } = options;
  const model: ModelSpec = { path: join(site, 'models', 'default', 'model.json'), name: 'default', gallery };
  const server = await createServer({ models: [model], webRoot: site, port: 0, ep: 'cpu', logger: 'silent', ...rest });
  return { server, base: await server.listen() };
}

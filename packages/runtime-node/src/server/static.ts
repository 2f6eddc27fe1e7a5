import { realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';

/** True when `file` (already resolved) is `root` or inside it. */
function inside(root: string, file: string): boolean {
  return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The --web_root folder at /: no dotfiles (`.env`, `.git/`), nothing reached through a symlink that leaves the
 * root, and (by default) COOP/COEP headers so the page is cross-origin isolated and onnxruntime-web's wasm
 * runs with threads (SharedArrayBuffer) without `?coi=1`.
 */
export const staticPlugin: FastifyPluginAsync<{ root: string; crossOriginIsolation: boolean }> = async (app, opts) => {
  const realRoot = realpathSync(opts.root);
  if (opts.crossOriginIsolation) {
    app.addHook('onSend', async (_req, reply, payload) => {
      reply.header('cross-origin-opener-policy', 'same-origin');
      reply.header('cross-origin-embedder-policy', 'require-corp');
      reply.header('cross-origin-resource-policy', 'same-origin');
      return payload;
    });
  }
  await app.register(fastifyStatic, {
    root: realRoot,
    prefix: '/',
    index: ['index.html'],
    wildcard: true,
    dotfiles: 'ignore',
    allowedPath: (pathName) => {
      if (pathName.split('/').some((s) => s.startsWith('.'))) return false;
      let real: string;
      try {
        real = realpathSync(join(realRoot, pathName));
      } catch {
        return true; // does not exist: @fastify/static answers 404
      }
      return inside(realRoot, real);
    },
  });
};

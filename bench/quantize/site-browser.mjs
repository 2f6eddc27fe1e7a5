// A site made by makeSite, served by `semembed serve` (its default model as 'm', CPU, quiet, a free port) and a fresh
// Chromium profile to open it in: what run.mjs and chromium-quiet.mjs both measure the page's variants with.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createServer } from '@semembed/runtime-node';
import { chromiumLaunchOptions } from '@semembed/runtime-web/chromium';

/** { base, ctx, close() }: base is the server's URL, ctx a Chromium context; close() stops both. */
export async function openSite(site) {
  const server = await createServer({
    models: [{ path: join(site, 'models/default/model.json'), name: 'm' }],
    webRoot: site,
    port: 0,
    ep: 'cpu',
    logger: 'silent',
  });
  const base = await server.listen();
  const ctx = await chromium.launchPersistentContext(
    mkdtempSync(join(tmpdir(), 'semembed-chr-')),
    chromiumLaunchOptions(),
  );
  const close = async () => {
    await ctx.close();
    await server.close();
  };
  return { base, ctx, close };
}

// Offline support, page side: registers sw.js, and fills one Cache API cache per site version from the
// site's manifest (site-manifest.json, written by makeSite) with a progress bar. The manifest goes in last:
// a cache that holds it is complete. A newer manifest on the server (checked on every online visit) is
// downloaded into a new cache, the old caches are deleted and the page reloads once into the new version.

export const CACHE_PREFIX = 'semembed-site-';
export const MANIFEST = 'site-manifest.json';

export interface SiteFile {
  path: string;
  bytes: number;
  /** 'core' (page, wasm, config), 'gallery', or 'variant:<name>' (one model variant's files). */
  group: string;
}

export interface SiteManifest {
  format: 'semembed-site/1';
  version: string;
  files: SiteFile[];
}

export type OfflineStatus = 'unsupported' | 'no-manifest' | 'downloaded' | 'updated' | 'cached' | 'offline';

export interface OfflineReport {
  status: OfflineStatus;
  version?: string;
  /** Bytes fetched by this visit's precache, and how often the progress bar moved. */
  bytes: number;
  progressEvents: number;
  reason?: string;
}

/**
 * Registers the service worker (sw.js?coi=1 also isolates the page). Resolves once it controls the page, so
 * that later fetches (model, wasm) are answered from the cache; false when there is no service worker.
 */
export async function registerServiceWorker(coi: boolean): Promise<boolean> {
  if (!('serviceWorker' in navigator) || !isSecureContext) return false;
  const script = coi ? 'sw.js?coi=1' : 'sw.js';
  await navigator.serviceWorker.register(script);
  await navigator.serviceWorker.ready;
  // Wait for THIS script to control the page, not just any worker: after a visit without ?coi=1 the plain sw.js
  // still controls it while sw.js?coi=1 installs, and a reload served by the plain one is not isolated.
  // skipWaiting + clients.claim() in the worker: the new controller arrives a moment after `ready`.
  const want = new URL(script, document.baseURI).href;
  if (navigator.serviceWorker.controller?.scriptURL !== want) {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        navigator.serviceWorker.removeEventListener('controllerchange', check);
        resolve();
      };
      const check = () => {
        if (navigator.serviceWorker.controller?.scriptURL === want) done();
      };
      const t = setTimeout(done, 3000);
      navigator.serviceWorker.addEventListener('controllerchange', check);
    });
  }
  return !!navigator.serviceWorker.controller;
}

async function siteCaches(): Promise<string[]> {
  return (await caches.keys()).filter((n) => n.startsWith(CACHE_PREFIX));
}

/** The manifest of the newest complete cache, if any. */
async function cachedManifest(): Promise<{ cache: string; manifest: SiteManifest } | undefined> {
  for (const name of (await siteCaches()).reverse()) {
    const res = await (await caches.open(name)).match(new URL(MANIFEST, document.baseURI).href);
    if (res) return { cache: name, manifest: (await res.json()) as SiteManifest };
  }
  return undefined;
}

async function serverManifest(): Promise<SiteManifest | 'offline' | undefined> {
  let res: Response;
  try {
    res = await fetch(MANIFEST, { cache: 'no-store' });
  } catch {
    return 'offline';
  }
  if (!res.ok) return undefined; // a plain build of the page (no makeSite): nothing to precache
  const m = (await res.json()) as SiteManifest;
  return m.format === 'semembed-site/1' && Array.isArray(m.files) ? m : undefined;
}

export interface PrecacheOptions {
  /** Groups to download now besides 'core' (e.g. 'gallery', 'variant:int8'). */
  groups: string[];
  onProgress(done: number, total: number): void;
}

/** Downloads the missing files of `groups` into `cacheName`, streaming, with progress. */
async function fill(cacheName: string, m: SiteManifest, o: PrecacheOptions, report: OfflineReport): Promise<void> {
  const cache = await caches.open(cacheName);
  const want = m.files.filter((f) => f.group === 'core' || o.groups.includes(f.group));
  const missing: SiteFile[] = [];
  for (const f of want) if (!(await cache.match(new URL(f.path, document.baseURI).href))) missing.push(f);
  const total = missing.reduce((a, f) => a + f.bytes, 0);
  let done = 0;
  o.onProgress(0, total);
  for (const f of missing) {
    const url = new URL(f.path, document.baseURI).href;
    const res = await fetch(url, { cache: 'no-store' });
    if (!res.ok || !res.body) throw new Error(`offline copy: ${url}: HTTP ${res.status}`);
    const chunks: Uint8Array[] = [];
    const reader = res.body.getReader();
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) break;
      chunks.push(value);
      done += value.length;
      report.bytes += value.length;
      report.progressEvents++;
      o.onProgress(done, total);
    }
    await cache.put(url, new Response(new Blob(chunks as BlobPart[]), { status: 200, headers: res.headers }));
    // The page's own URL is requested as the folder too (navigations to ./?ep=wasm).
    if (f.path === 'index.html') {
      const page = new Response(new Blob(chunks as BlobPart[]), { headers: res.headers });
      await cache.put(new URL('./', document.baseURI).href, page);
    }
  }
}

/**
 * Makes sure the site is cached for offline use. Returns 'updated' after a version change: the caller reloads
 * the page (its own code may have changed).
 */
export async function ensureOffline(o: PrecacheOptions): Promise<OfflineReport> {
  const report: OfflineReport = { status: 'unsupported', bytes: 0, progressEvents: 0 };
  if (typeof caches === 'undefined') return { ...report, reason: 'no Cache API (needs https or localhost)' };
  const [server, cached] = await Promise.all([serverManifest(), cachedManifest()]);
  if (server === 'offline') {
    if (!cached) return { ...report, status: 'offline', reason: 'offline and nothing cached yet' };
    return { ...report, status: 'offline', version: cached.manifest.version };
  }
  if (!server) return { ...report, status: 'no-manifest', reason: `no ${MANIFEST} beside the page` };
  const name = CACHE_PREFIX + server.version;
  const older = cached && cached.manifest.version !== server.version;
  await fill(name, server, o, report);
  const manifest = new Response(JSON.stringify(server), { headers: { 'content-type': 'application/json' } });
  await (await caches.open(name)).put(new URL(MANIFEST, document.baseURI).href, manifest);
  for (const n of await siteCaches()) if (n !== name) await caches.delete(n);
  const status: OfflineStatus = older ? 'updated' : report.bytes > 0 ? 'downloaded' : 'cached';
  return { ...report, status, version: server.version };
}

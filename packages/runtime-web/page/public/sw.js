// The page's service worker: serves the site from the Cache API so it works offline after the first visit.
// The page itself fills the cache (page/offline.ts: one cache per site version, a progress bar, then the
// manifest as the commit marker); this worker only answers fetches:
//  - requests with cache: 'no-store' | 'reload' go to the network (the page's precache and version check must
//    see the server, never an older cached copy);
//  - same-origin GETs: cached copy first (navigations ignore the query string: ?ep=wasm is the same page),
//    else the network, and a good answer is added to the newest cache (a variant picked later stays offline too);
//  - registered as sw.js?coi=1 it also re-serves every response with COOP/COEP/CORP, which makes the page
//    cross-origin isolated (wasm threads) on servers that do not send those headers themselves. Opt-in: an
//    isolated page can only load cross-origin models / images that allow it.
const COI = new URL(self.location.href).searchParams.get('coi') === '1';
const PREFIX = 'semembed-site-';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function isolate(res) {
  if (!COI || res.status === 0) return res; // opaque responses cannot be re-headed
  const headers = new Headers(res.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  headers.set('Cross-Origin-Resource-Policy', 'cross-origin');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** The newest site cache (names carry the version; the page deletes old ones after an update). */
async function newestCache() {
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
  return names.length ? caches.open(names[names.length - 1]) : undefined;
}

async function fromCache(req) {
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX)).reverse();
  for (const name of names) {
    const cache = await caches.open(name);
    const page = req.mode === 'navigate' ? await cache.match(req, { ignoreSearch: true }) : undefined;
    const hit = (await cache.match(req)) ?? page;
    if (hit) return hit;
  }
  return undefined;
}

async function answer(req) {
  const hit = await fromCache(req);
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok && res.type === 'basic') {
    const cache = await newestCache();
    if (cache) await cache.put(req, res.clone()).catch(() => undefined);
  }
  return res;
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.cache === 'only-if-cached' && req.mode !== 'same-origin') return;
  const sameOrigin = new URL(req.url).origin === self.location.origin;
  if (req.method !== 'GET' || !sameOrigin || req.cache === 'no-store' || req.cache === 'reload') {
    if (COI) event.respondWith(fetch(req).then(isolate));
    return;
  }
  event.respondWith(answer(req).then(isolate));
});

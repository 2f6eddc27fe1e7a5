// Opt-in (?coi=1) service worker for servers that do not send COOP/COEP themselves (semembed serve does not):
// it re-serves this site's responses with those headers, which makes the page cross-origin isolated, which
// gives it SharedArrayBuffer, which ONNX Runtime's wasm needs for threads. Cross-origin resources must then
// allow being embedded (CORS or CORP), so it stays opt-in.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.cache === 'only-if-cached' && req.mode !== 'same-origin') return;
  event.respondWith(
    fetch(req).then((res) => {
      if (res.status === 0) return res; // opaque: cannot be re-headed
      const headers = new Headers(res.headers);
      headers.set('Cross-Origin-Opener-Policy', 'same-origin');
      headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
      headers.set('Cross-Origin-Resource-Policy', 'cross-origin');
      return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
    }),
  );
});

// Gallery search off the main thread: the page posts the gallery's features once, then queries; a 100k-row
// gallery's dot products (~10-40 ms) never block rendering or input.
import { WebGallery, type GalleryHeader, type GalleryMatch } from '../src/gallery.js';

export type SearchRequest =
  | { id: number; type: 'load'; header: GalleryHeader; features: Float32Array }
  | { id: number; type: 'search'; query: Float32Array; k: number; exclude?: number }
  | { id: number; type: 'bench'; iters: number; k: number };

export type SearchReply =
  | { id: number; ok: true; matches?: GalleryMatch[]; ms?: number; medianMs?: number }
  | { id: number; ok: false; error: string };

let gallery: WebGallery | undefined;

/** Top k without row `exclude` (a query picked from the gallery is not its own first match). */
export function searchExcluding(g: WebGallery, query: ArrayLike<number>, k: number, exclude?: number): GalleryMatch[] {
  const drop = exclude !== undefined && exclude >= 0 && exclude < g.size;
  const found = g.search(query, Math.min(g.size, k + (drop ? 1 : 0)));
  return found
    .filter((m) => !drop || m.index !== exclude)
    .slice(0, k)
    .map((m, r) => ({ ...m, rank: r + 1 }));
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<SearchRequest>) => void) | null;
  postMessage(m: SearchReply): void;
};

scope.onmessage = (e) => {
  const req = e.data;
  try {
    if (req.type === 'load') {
      gallery = new WebGallery(req.header, req.features);
      scope.postMessage({ id: req.id, ok: true });
      return;
    }
    if (!gallery) throw new Error('no gallery loaded in the search worker');
    if (req.type === 'search') {
      const t0 = performance.now();
      const matches = searchExcluding(gallery, req.query, req.k, req.exclude);
      scope.postMessage({ id: req.id, ok: true, matches, ms: performance.now() - t0 });
      return;
    }
    const q = new Float32Array(gallery.dim);
    const runs: number[] = [];
    for (let i = 0; i < req.iters; i++) {
      for (let j = 0; j < q.length; j++) q[j] = Math.sin((i + 1) * (j + 1));
      const t0 = performance.now();
      gallery.search(q, req.k);
      runs.push(performance.now() - t0);
    }
    runs.sort((a, b) => a - b);
    scope.postMessage({ id: req.id, ok: true, medianMs: runs[Math.floor(runs.length / 2)] });
  } catch (err) {
    scope.postMessage({ id: req.id, ok: false, error: (err as Error).message });
  }
};

// The page's handle on the search worker: promise per request, the gallery's features copied over once.
import type { GalleryMatch, WebGallery } from '../src/index.js';
import type { SearchReply, SearchRequest } from './search-worker.js';

type Body = SearchRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class SearchClient {
  private worker = new Worker(new URL('./search-worker.ts', import.meta.url), { type: 'module' });
  private next = 1;
  private pending = new Map<number, { resolve(r: SearchReply & { ok: true }): void; reject(e: Error): void }>();

  constructor() {
    this.worker.onmessage = (e: MessageEvent<SearchReply>) => {
      const p = this.pending.get(e.data.id);
      this.pending.delete(e.data.id);
      if (!p) return;
      if (e.data.ok) p.resolve(e.data);
      else p.reject(Object.assign(new Error(e.data.error), { userFacing: true }));
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(`search worker: ${e.message}`));
      this.pending.clear();
    };
  }

  private call(body: Body, transfer: Transferable[] = []): Promise<SearchReply & { ok: true }> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }

  /** Copies the gallery's features into the worker (the page keeps its own for nothing but thumbnails). */
  async load(g: WebGallery): Promise<void> {
    const features = g.features.slice();
    await this.call({ type: 'load', header: g.header, features }, [features.buffer]);
  }

  async search(
    query: ArrayLike<number>,
    k: number,
    exclude?: number,
  ): Promise<{ matches: GalleryMatch[]; ms: number }> {
    const q = Float32Array.from(query);
    const r = await this.call({ type: 'search', query: q, k, ...(exclude !== undefined && { exclude }) });
    return { matches: r.matches!, ms: r.ms! };
  }

  async bench(iters: number, k: number): Promise<number> {
    return (await this.call({ type: 'bench', iters, k })).medianMs!;
  }

  terminate(): void {
    this.worker.terminate();
  }
}

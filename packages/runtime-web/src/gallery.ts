import { GalleryError } from './errors.js';
import { float32ToHalf, halfToFloat32, topK, type GalleryMatch } from '@semembed/model';

/**
 * Gallery file 'semembed-gallery/1' (little-endian):
 *   bytes 0-7   magic "SEMGAL1\n"
 *   bytes 8-11  uint32 length of the JSON header
 *   JSON header (UTF-8), zero-padded so the next block starts at a multiple of 8
 *   features    rows x dim, float16 or float32, row-major        (header.features = {offset, length})
 *   thumbnails  rows x height x width x channels uint8, optional (header.thumbnails = {offset, length, ...})
 * One fetch, no parsing of numbers as text; float16 halves the size at ~1e-3 relative error per value.
 */
export const GALLERY_MAGIC = 'SEMGAL1\n';
export const GALLERY_FORMAT = 'semembed-gallery/1';

export type GalleryDtype = 'float16' | 'float32';

export interface GalleryHeader {
  format: typeof GALLERY_FORMAT;
  rows: number;
  dim: number;
  dtype: GalleryDtype;
  /** Name of the model whose embeddings these are (informative; the page warns on a dim mismatch). */
  model?: string;
  ids?: string[];
  labels?: string[];
  /** Image URLs, relative to the gallery file, shown as thumbnails when there are no embedded ones. */
  images?: string[];
  features: { offset: number; length: number };
  thumbnails?: { offset: number; length: number; width: number; height: number; channels: 1 | 3 | 4 };
}

export type { GalleryMatch } from '@semembed/model';

export interface EncodeGalleryOptions {
  rows: number;
  dim: number;
  dtype?: GalleryDtype;
  model?: string;
  ids?: string[];
  labels?: string[];
  images?: string[];
  thumbnails?: { data: Uint8Array; width: number; height: number; channels: 1 | 3 | 4 };
}

const pad8 = (n: number): number => (n + 7) & ~7;

function checkLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
    throw new GalleryError('gallery files are little-endian; this platform is big-endian');
}

/** Builds a gallery file from row-major embeddings (default float32; float16 for half the bytes). */
export function encodeGallery(features: ArrayLike<number>, o: EncodeGalleryOptions): Uint8Array {
  checkLittleEndian();
  const { rows, dim } = o;
  const dtype = o.dtype ?? 'float32';
  if (!Number.isInteger(rows) || !Number.isInteger(dim) || rows < 1 || dim < 1)
    throw new GalleryError(`gallery needs rows >= 1 and dim >= 1, got ${rows} x ${dim}`);
  if (features.length !== rows * dim)
    throw new GalleryError(`features have ${features.length} values, expected ${rows} x ${dim}`);
  for (const [name, list] of [
    ['ids', o.ids],
    ['labels', o.labels],
    ['images', o.images],
  ] as const) {
    if (list && list.length !== rows)
      throw new GalleryError(`${name} has ${list.length} entries, the features ${rows} rows`);
  }
  const featBytes = rows * dim * (dtype === 'float16' ? 2 : 4);
  const th = o.thumbnails;
  if (th && th.data.length !== rows * th.width * th.height * th.channels) {
    throw new GalleryError(
      `thumbnails have ${th.data.length} bytes, expected ${rows} x ${th.height} x ${th.width} x ${th.channels}`,
    );
  }
  // Offsets depend on the header length, which depends on the offsets' digits: settle by iterating.
  let headerLen = 0;
  let header!: GalleryHeader;
  let json!: Uint8Array;
  for (let iter = 0; iter < 4; iter++) {
    const featOff = pad8(12 + headerLen);
    const thumbOff = pad8(featOff + featBytes);
    header = {
      format: GALLERY_FORMAT,
      rows,
      dim,
      dtype,
      ...(o.model !== undefined && { model: o.model }),
      ...(o.ids && { ids: o.ids }),
      ...(o.labels && { labels: o.labels }),
      ...(o.images && { images: o.images }),
      features: { offset: featOff, length: featBytes },
      ...(th && {
        thumbnails: {
          offset: thumbOff,
          length: th.data.length,
          width: th.width,
          height: th.height,
          channels: th.channels,
        },
      }),
    };
    json = new TextEncoder().encode(JSON.stringify(header));
    if (json.length === headerLen) break;
    headerLen = json.length;
  }
  const total = th ? header.thumbnails!.offset + th.data.length : header.features.offset + featBytes;
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(GALLERY_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const feat =
    dtype === 'float16'
      ? new Uint8Array(float32ToHalf(features).buffer)
      : new Uint8Array(Float32Array.from(features).buffer);
  out.set(feat, header.features.offset);
  if (th) out.set(th.data, header.thumbnails!.offset);
  return out;
}

/** An in-memory gallery searched exactly: one dot product per row, then a bounded-heap top-k. */
export class WebGallery {
  private scores: Float32Array;

  constructor(
    readonly header: GalleryHeader,
    /** rows x dim float32 (float16 files are widened once at load). */
    readonly features: Float32Array,
    readonly thumbnails?: Uint8Array,
  ) {
    this.scores = new Float32Array(header.rows);
  }

  get size(): number {
    return this.header.rows;
  }
  get dim(): number {
    return this.header.dim;
  }

  /** Similarities of every gallery row to the query. */
  similarities(query: ArrayLike<number>): Float32Array {
    const { rows, dim } = this.header;
    if (query.length !== dim) throw new GalleryError(`query has ${query.length} dimensions, the gallery ${dim}`);
    const f = this.features;
    const s = this.scores;
    for (let r = 0, off = 0; r < rows; r++, off += dim) {
      let acc = 0;
      for (let j = 0; j < dim; j++) acc += f[off + j] * query[j];
      s[r] = acc;
    }
    return s;
  }

  search(query: ArrayLike<number>, k = 10): GalleryMatch[] {
    const { ids, labels } = this.header;
    return topK(this.similarities(query), k).map(([index, similarity], rank) => ({
      rank: rank + 1,
      index,
      ...(ids && { id: ids[index] }),
      ...(labels && { label: labels[index] }),
      similarity,
    }));
  }

  /** Row `i`'s embedded thumbnail as RGBA (for ImageData), or undefined when the file has none. */
  thumbnailRGBA(i: number): { data: Uint8ClampedArray<ArrayBuffer>; width: number; height: number } | undefined {
    const t = this.header.thumbnails;
    if (!t || !this.thumbnails) return undefined;
    const n = t.width * t.height;
    const src = this.thumbnails.subarray(i * n * t.channels, (i + 1) * n * t.channels);
    const out = new Uint8ClampedArray(n * 4);
    for (let p = 0; p < n; p++) {
      if (t.channels === 1) {
        out[4 * p] = out[4 * p + 1] = out[4 * p + 2] = src[p];
        out[4 * p + 3] = 255;
      } else {
        out[4 * p] = src[t.channels * p];
        out[4 * p + 1] = src[t.channels * p + 1];
        out[4 * p + 2] = src[t.channels * p + 2];
        out[4 * p + 3] = t.channels === 4 ? src[4 * p + 3] : 255;
      }
    }
    return { data: out, width: t.width, height: t.height };
  }
}

/** Reads a gallery file; every problem says which file and what was wrong. */
export function parseGallery(buf: ArrayBuffer | Uint8Array, source = 'gallery'): WebGallery {
  checkLittleEndian();
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  const fail = (what: string): never => {
    throw new GalleryError(`${source}: ${what}`);
  };
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== GALLERY_MAGIC) {
    fail(
      `not a semembed gallery file (expected magic ${JSON.stringify(GALLERY_MAGIC)}; make one with encodeGallery or scripts/make-gallery.mjs)`,
    );
  }
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + len > bytes.length) fail(`header of ${len} bytes runs past the end of the file (${bytes.length} bytes)`);
  let h: GalleryHeader;
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as GalleryHeader;
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  if (h.format !== GALLERY_FORMAT) fail(`format is ${JSON.stringify(h.format)}, expected "${GALLERY_FORMAT}"`);
  if (!Number.isInteger(h.rows) || !Number.isInteger(h.dim) || h.rows < 1 || h.dim < 1)
    fail(`rows / dim must be positive integers, got ${h.rows} / ${h.dim}`);
  if (h.dtype !== 'float16' && h.dtype !== 'float32')
    fail(`dtype ${JSON.stringify(h.dtype)} is not float16 or float32`);
  const width = h.dtype === 'float16' ? 2 : 4;
  const f = h.features;
  if (!f || f.length !== h.rows * h.dim * width)
    fail(`features block is ${f?.length} bytes, expected ${h.rows} x ${h.dim} x ${width}`);
  if (f.offset % width !== 0 || f.offset < 12 + len || f.offset + f.length > bytes.length)
    fail(`features block [${f.offset}, +${f.length}) lies outside the file (${bytes.length} bytes) or is misaligned`);
  for (const name of ['ids', 'labels', 'images'] as const) {
    const list = h[name];
    if (list !== undefined && (!Array.isArray(list) || list.length !== h.rows))
      fail(`${name} must list ${h.rows} entries`);
  }
  // Copy into an aligned buffer of our own (the input may sit at any byte offset of a larger buffer).
  // Uint8Array.prototype.slice, not the argument's own: Node's Buffer#slice shares memory instead of copying.
  const raw = Uint8Array.prototype.slice.call(bytes, f.offset, f.offset + f.length);
  const features = h.dtype === 'float16' ? halfToFloat32(new Uint16Array(raw.buffer)) : new Float32Array(raw.buffer);
  let thumbs: Uint8Array | undefined;
  if (h.thumbnails) {
    const t = h.thumbnails;
    if (t.length !== h.rows * t.width * t.height * t.channels || t.offset + t.length > bytes.length)
      fail(`thumbnails block does not fit ${h.rows} x ${t.height} x ${t.width} x ${t.channels} inside the file`);
    thumbs = bytes.subarray(t.offset, t.offset + t.length);
  }
  return new WebGallery(h, features, thumbs);
}

/** Fetches and parses a gallery file. */
export async function loadGallery(url: string | URL, fetchImpl: typeof fetch = fetch): Promise<WebGallery> {
  let res: Response;
  try {
    res = await fetchImpl(url);
  } catch (err) {
    throw new GalleryError(`gallery ${url}: cannot fetch (${(err as Error).message})`);
  }
  if (!res.ok) throw new GalleryError(`gallery ${url}: HTTP ${res.status} ${res.statusText}`.trim());
  return parseGallery(await res.arrayBuffer(), String(url));
}

// Node side (not part of the browser entry): assembles a static site for the search page from the built
// page, a model and a gallery made from a features .npy as `semembed embed` writes it.
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readNpy } from '@semembed/formats';
import { RuntimeWebError } from './errors.js';
import { encodeGallery, type GalleryDtype } from './gallery.js';

/** The page as `npm run build` leaves it in this package. */
export const WEB_DIST = resolve(dirname(fileURLToPath(import.meta.url)), 'web');

export class SiteError extends RuntimeWebError {}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function readLines(path: string, n: number, what: string): string[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== n) throw new SiteError(`${path}: ${lines.length} ${what}, but the features have ${n} rows`);
  return lines;
}

/** IDX images (uint8, n x h x w), gzipped or not: thumbnails for Fashion-MNIST / MNIST galleries. */
export function readIdxImages(path: string): { n: number; h: number; w: number; data: Uint8Array } {
  if (!existsSync(path)) throw new SiteError(`--thumbs_idx ${path}: no such file`);
  let b: Buffer = readFileSync(path);
  if (b[0] === 0x1f && b[1] === 0x8b) b = gunzipSync(b);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 16 || dv.getUint16(0) !== 0 || b[2] !== 0x08 || b[3] !== 3) throw new SiteError(`${path}: not an IDX file of uint8 images (starts with ${b.subarray(0, 4).toString('hex')})`);
  const [n, h, w] = [dv.getUint32(4), dv.getUint32(8), dv.getUint32(12)];
  if (b.length !== 16 + n * h * w) throw new SiteError(`${path}: ${b.length} bytes, expected 16 + ${n} x ${h} x ${w}`);
  return { n, h, w, data: new Uint8Array(b.buffer, b.byteOffset + 16, n * h * w) };
}

export interface GalleryFileOptions {
  /** features .npy (rows x dim); ids / labels from <stem>.ids.txt / <stem>.labels.txt when present. */
  features: string;
  out: string;
  dtype?: GalleryDtype;
  /** IDX file whose first `rows` images are the gallery's thumbnails. */
  thumbsIdx?: string;
  /** Image URLs (relative to the gallery file) for thumbnails. */
  images?: string[];
  model?: string;
}

export function makeGalleryFile(o: GalleryFileOptions): { rows: number; dim: number; bytes: number } {
  const g = galleryBytes(o);
  writeAtomic(o.out, g.bytes);
  return { rows: g.rows, dim: g.dim, bytes: g.bytes.length };
}

/** The gallery file's bytes, all inputs checked (nothing written). */
function galleryBytes(o: Omit<GalleryFileOptions, 'out'>): { rows: number; dim: number; bytes: Uint8Array } {
  if (!existsSync(o.features)) throw new SiteError(`--gallery ${o.features}: no such file`);
  const arr = readNpy(o.features);
  if (arr.shape.length !== 2) throw new SiteError(`--gallery ${o.features}: expected 2-D features, got shape [${arr.shape}]`);
  const [rows, dim] = arr.shape;
  const stem = o.features.replace(/\.npy$/, '');
  const ids = existsSync(`${stem}.ids.txt`) ? readLines(`${stem}.ids.txt`, rows, 'ids') : undefined;
  const labels = existsSync(`${stem}.labels.txt`) ? readLines(`${stem}.labels.txt`, rows, 'labels') : undefined;
  let thumbnails;
  if (o.thumbsIdx) {
    const t = readIdxImages(o.thumbsIdx);
    if (t.n < rows) throw new SiteError(`--thumbs_idx ${o.thumbsIdx}: ${t.n} images, the gallery has ${rows} rows`);
    thumbnails = { data: t.data.subarray(0, rows * t.h * t.w), width: t.w, height: t.h, channels: 1 as const };
  }
  const bytes = encodeGallery(arr.data as ArrayLike<number>, { rows, dim, dtype: o.dtype, ids, labels, images: o.images, thumbnails, model: o.model });
  return { rows, dim, bytes };
}

export interface SiteOptions {
  /** model.json (or the .onnx / folder beside it). */
  model: string;
  gallery?: string;
  out: string;
  dtype?: GalleryDtype;
  thumbsIdx?: string;
  /** Text file with one image path per gallery row (relative to the list file). */
  imagesList?: string;
  /** The built page (default: this package's dist/web). */
  web?: string;
}

/** Page + model (models/default/) + gallery + config.json in one folder, ready for `semembed serve --web_root`. */
export function makeSite(o: SiteOptions): { out: string; gallery?: { rows: number; dim: number; bytes: number } } {
  const web = o.web ?? WEB_DIST;
  if (!existsSync(join(web, 'index.html'))) throw new SiteError(`${web}: no built page (run npm run build in packages/runtime-web)`);
  if (!existsSync(o.model)) throw new SiteError(`--model ${o.model}: no such file or folder`);
  const sidecarPath = o.model.endsWith('.json') ? o.model : existsSync(join(o.model, 'model.json')) ? join(o.model, 'model.json') : o.model.replace(/\.onnx$/, '.json');
  if (!existsSync(sidecarPath)) throw new SiteError(`--model ${o.model}: no sidecar (model.json) beside it`);
  let sidecar: { model?: string; source?: { file?: string } };
  try {
    sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
  } catch (err) {
    throw new SiteError(`${sidecarPath}: not JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const onnx = join(dirname(sidecarPath), sidecar.model ?? '');
  if (!sidecar.model || !existsSync(onnx)) throw new SiteError(`${sidecarPath}: its model file "${sidecar.model}" is not there`);
  const mdir = join(o.out, 'models', 'default');
  // Everything that can fail on bad input happens before the first write: no half-made site.
  let g: { rows: number; dim: number; bytes: Uint8Array } | undefined;
  if (o.gallery) {
    const rows = existsSync(o.gallery) ? readNpy(o.gallery).shape[0] : 0;
    const images = o.imagesList ? readLines(o.imagesList, rows, 'image paths').map((p) => relative(resolve(mdir), resolve(dirname(o.imagesList!), p))) : undefined;
    g = galleryBytes({ features: o.gallery, dtype: o.dtype, thumbsIdx: o.thumbsIdx, images, model: sidecar.source?.file });
  }
  mkdirSync(mdir, { recursive: true });
  cpSync(web, o.out, { recursive: true });
  copyFileSync(onnx, join(mdir, basename(onnx)));
  writeAtomic(join(mdir, 'model.json'), JSON.stringify({ ...sidecar, model: basename(onnx) }, null, 1));
  const config: { model: string; gallery?: string } = { model: 'models/default/model.json' };
  if (g) {
    writeAtomic(join(mdir, 'gallery.bin'), g.bytes);
    config.gallery = 'models/default/gallery.bin';
  }
  writeAtomic(join(o.out, 'config.json'), JSON.stringify(config, null, 1));
  return { out: o.out, ...(g && { gallery: { rows: g.rows, dim: g.dim, bytes: g.bytes.length } }) };
}

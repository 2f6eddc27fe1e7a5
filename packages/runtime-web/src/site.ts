// Node side (not part of the browser entry): assembles a static site for the search page from the built
// page, a model and a gallery made from a features .npy as `semembed embed` writes it.
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readNpy, writeFileAtomic as writeAtomic } from '@semembed/formats';
import { RuntimeWebError } from './errors.js';
import { encodeGallery, type GalleryDtype } from './gallery.js';

/** The page as `npm run build` leaves it in this package. */
export const WEB_DIST = resolve(dirname(fileURLToPath(import.meta.url)), 'web');

export class SiteError extends RuntimeWebError {}

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
  if (b.length < 16 || dv.getUint16(0) !== 0 || b[2] !== 0x08 || b[3] !== 3)
    throw new SiteError(`${path}: not an IDX file of uint8 images (starts with ${b.subarray(0, 4).toString('hex')})`);
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
  if (arr.shape.length !== 2)
    throw new SiteError(`--gallery ${o.features}: expected 2-D features, got shape [${arr.shape}]`);
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
  const bytes = encodeGallery(arr.data as ArrayLike<number>, {
    rows,
    dim,
    dtype: o.dtype,
    ids,
    labels,
    images: o.images,
    thumbnails,
    model: o.model,
  });
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
  /**
   * More precisions of the same model (name -> model.json, e.g. { int8: 'm.int8.json' } from semembed quantize):
   * copied to models/<name>/; the page picks one per device (WebGPU: fp16, wasm: int8) unless the user does.
   */
  variants?: Record<string, string>;
}

interface ModelFiles {
  sidecarPath: string;
  sidecar: { model?: string; source?: { file?: string }; precision?: string };
  onnx: string;
}

/** A model.json (or the .onnx / folder beside it) and its .onnx, checked; `flag` names it in errors. */
function modelFiles(model: string, flag: string): ModelFiles {
  if (!existsSync(model)) throw new SiteError(`${flag} ${model}: no such file or folder`);
  const sidecarPath = model.endsWith('.json')
    ? model
    : existsSync(join(model, 'model.json'))
      ? join(model, 'model.json')
      : model.replace(/\.onnx$/, '.json');
  if (!existsSync(sidecarPath)) throw new SiteError(`${flag} ${model}: no sidecar (model.json) beside it`);
  let sidecar: ModelFiles['sidecar'];
  try {
    sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
  } catch (err) {
    throw new SiteError(`${sidecarPath}: not JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const onnx = join(dirname(sidecarPath), sidecar.model ?? '');
  if (!sidecar.model || !existsSync(onnx))
    throw new SiteError(`${sidecarPath}: its model file "${sidecar.model}" is not there`);
  return { sidecarPath, sidecar, onnx };
}

function copyModel(m: ModelFiles, dir: string): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(m.onnx, join(dir, basename(m.onnx)));
  writeAtomic(join(dir, 'model.json'), JSON.stringify({ ...m.sidecar, model: basename(m.onnx) }, null, 1));
}

function listFiles(root: string, dir = ''): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(root, join(dir, e.name)) : e.isFile() ? [join(dir, e.name).split('\\').join('/')] : [],
  );
}

/**
 * site-manifest.json: every file of the site with its size and group ('core', 'gallery', 'variant:<name>'), and a
 * version (hash of all contents) that changes whenever any file does; the page's offline copy follows it.
 */
export function writeSiteManifest(
  out: string,
  groups: Record<string, string>,
): { version: string; files: number; bytes: number } {
  const hash = createHash('sha256');
  const files = listFiles(out)
    .filter((p) => p !== 'site-manifest.json' && !basename(p).startsWith('.'))
    .sort()
    .map((path) => {
      const data = readFileSync(join(out, path));
      hash.update(path).update('\0').update(createHash('sha256').update(data).digest());
      const dir = Object.keys(groups).find((d) => path === d || path.startsWith(`${d}/`));
      return { path, bytes: data.length, group: dir ? groups[dir] : 'core' };
    });
  const version = hash.digest('hex').slice(0, 16);
  writeAtomic(join(out, 'site-manifest.json'), JSON.stringify({ format: 'semembed-site/1', version, files }, null, 1));
  return { version, files: files.length, bytes: files.reduce((a, f) => a + f.bytes, 0) };
}

/** Page + model (models/default/) + gallery + config.json in one folder, ready for `semembed serve --web_root`. */
export function makeSite(o: SiteOptions): {
  out: string;
  version: string;
  gallery?: { rows: number; dim: number; bytes: number };
} {
  const web = o.web ?? WEB_DIST;
  if (!existsSync(join(web, 'index.html')))
    throw new SiteError(`${web}: no built page (run npm run build in packages/runtime-web)`);
  const main = modelFiles(o.model, '--model');
  const sidecar = main.sidecar;
  const mainName = sidecar.precision ?? 'fp32';
  const variants = Object.entries(o.variants ?? {}).map(([name, path]) => {
    if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name) || name === 'default') {
      throw new SiteError(`--variant ${name}=${path}: the name must be a word like int8 or fp16`);
    }
    if (name === mainName) throw new SiteError(`--variant ${name}=${path}: --model already is the ${name} variant`);
    return { name, files: modelFiles(path, `--variant ${name}=`) };
  });
  const mdir = join(o.out, 'models', 'default');
  // Everything that can fail on bad input happens before the first write: no half-made site.
  let g: { rows: number; dim: number; bytes: Uint8Array } | undefined;
  if (o.gallery) {
    const rows = existsSync(o.gallery) ? readNpy(o.gallery).shape[0] : 0;
    const images = o.imagesList
      ? readLines(o.imagesList, rows, 'image paths').map((p) =>
          relative(resolve(mdir), resolve(dirname(o.imagesList!), p)),
        )
      : undefined;
    g = galleryBytes({
      features: o.gallery,
      dtype: o.dtype,
      thumbsIdx: o.thumbsIdx,
      images,
      model: sidecar.source?.file,
    });
  }
  mkdirSync(mdir, { recursive: true });
  cpSync(web, o.out, { recursive: true });
  copyModel(main, mdir);
  // Variants always listed, the main model too: the page caches the one it runs under its name.
  const config: { model: string; gallery?: string; variants: Record<string, string> } = {
    model: 'models/default/model.json',
    variants: { [mainName]: 'models/default/model.json' },
  };
  const groups: Record<string, string> = {
    [`models/default/${basename(main.onnx)}`]: `variant:${mainName}`,
    'models/default/model.json': `variant:${mainName}`,
  };
  if (g) {
    writeAtomic(join(mdir, 'gallery.bin'), g.bytes);
    config.gallery = 'models/default/gallery.bin';
    groups['models/default/gallery.bin'] = 'gallery';
  }
  for (const v of variants) {
    copyModel(v.files, join(o.out, 'models', v.name));
    config.variants[v.name] = `models/${v.name}/model.json`;
    groups[`models/${v.name}`] = `variant:${v.name}`;
  }
  writeAtomic(join(o.out, 'config.json'), JSON.stringify(config, null, 1));
  const manifest = writeSiteManifest(o.out, groups);
  const gallery = g && { rows: g.rows, dim: g.dim, bytes: g.bytes.length };
  return { out: o.out, version: manifest.version, ...(gallery && { gallery }) };
}

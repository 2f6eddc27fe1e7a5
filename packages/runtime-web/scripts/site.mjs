#!/usr/bin/env node
// Assembles a static site for the semantic search page: the built page (dist/web), a model (model.onnx +
// model.json) and a gallery file made from a features .npy (as `semembed embed` writes it), with labels,
// ids and thumbnails. Serve the result with `semembed serve --web_root <out>` or any static server.
//
//   node packages/runtime-web/scripts/site.mjs --model models/fashion/model.json --gallery features.npy \
//        [--thumbs_idx t10k-images-idx3-ubyte.gz | --images_list images.txt] [--dtype float16] --out site/
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readNpy } from '@semembed/formats';
import { encodeGallery } from '../dist/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const WEB_DIST = resolve(HERE, '../dist/web');

class SiteError extends Error {
  userFacing = true;
}

function writeAtomic(path, data) {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function readLines(path, n, what) {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== n) throw new SiteError(`${path}: ${lines.length} ${what}, but the features have ${n} rows`);
  return lines;
}

/** IDX images (uint8, n x h x w), gzipped or not: the thumbnails of Fashion-MNIST / MNIST galleries. */
export function readIdxImages(path) {
  let b = readFileSync(path);
  if (b[0] === 0x1f && b[1] === 0x8b) b = gunzipSync(b);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint16(0) !== 0 || b[2] !== 0x08 || b[3] !== 3) throw new SiteError(`${path}: not an IDX file of uint8 images (magic ${b.subarray(0, 4).toString('hex')})`);
  const [n, h, w] = [dv.getUint32(4), dv.getUint32(8), dv.getUint32(12)];
  if (b.length !== 16 + n * h * w) throw new SiteError(`${path}: ${b.length} bytes, expected 16 + ${n} x ${h} x ${w}`);
  return { n, h, w, data: new Uint8Array(b.buffer, b.byteOffset + 16, n * h * w) };
}

/**
 * Gallery file from features (+ ids / labels text files beside them, as semembed embed writes), thumbnails
 * from an IDX file (rows taken in order) and / or image URLs.
 */
export function makeGalleryFile({ features, out, dtype = 'float32', thumbsIdx, images, model }) {
  if (!existsSync(features)) throw new SiteError(`--gallery ${features}: no such file`);
  const arr = readNpy(features);
  if (arr.shape.length !== 2) throw new SiteError(`--gallery ${features}: expected 2-D features, got shape [${arr.shape}]`);
  const [rows, dim] = arr.shape;
  const stem = features.replace(/\.npy$/, '');
  const ids = existsSync(`${stem}.ids.txt`) ? readLines(`${stem}.ids.txt`, rows, 'ids') : undefined;
  const labels = existsSync(`${stem}.labels.txt`) ? readLines(`${stem}.labels.txt`, rows, 'labels') : undefined;
  let thumbnails;
  if (thumbsIdx) {
    const t = readIdxImages(thumbsIdx);
    if (t.n < rows) throw new SiteError(`--thumbs_idx ${thumbsIdx}: ${t.n} images, the gallery has ${rows} rows`);
    thumbnails = { data: t.data.subarray(0, rows * t.h * t.w), width: t.w, height: t.h, channels: 1 };
  }
  const bytes = encodeGallery(arr.data, { rows, dim, dtype, ids, labels, images, thumbnails, model });
  writeAtomic(out, bytes);
  return { rows, dim, bytes: bytes.length };
}

/** Page + model + gallery + config.json in one folder. */
export function makeSite({ model, gallery, out, dtype, thumbsIdx, imagesList, web = WEB_DIST }) {
  if (!existsSync(join(web, 'index.html'))) throw new SiteError(`${web}: no built page (run npm run build in packages/runtime-web)`);
  if (!existsSync(model)) throw new SiteError(`--model ${model}: no such file`);
  const sidecarPath = model.endsWith('.json') ? model : existsSync(join(model, 'model.json')) ? join(model, 'model.json') : model.replace(/\.onnx$/, '.json');
  if (!existsSync(sidecarPath)) throw new SiteError(`--model ${model}: no sidecar (model.json) found`);
  let sidecar;
  try {
    sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
  } catch (err) {
    throw new SiteError(`${sidecarPath}: not JSON (${err.message.split('\n')[0]})`);
  }
  const onnx = join(dirname(sidecarPath), sidecar.model ?? '');
  if (!sidecar.model || !existsSync(onnx)) throw new SiteError(`${sidecarPath}: its model file "${sidecar.model}" is not there`);
  mkdirSync(out, { recursive: true });
  cpSync(web, out, { recursive: true });
  const mdir = join(out, 'models', 'default');
  mkdirSync(mdir, { recursive: true });
  copyFileSync(onnx, join(mdir, basename(onnx)));
  writeAtomic(join(mdir, 'model.json'), JSON.stringify({ ...sidecar, model: basename(onnx) }, null, 1));
  const config = { model: 'models/default/model.json' };
  let g;
  if (gallery) {
    const images = imagesList ? readLines(imagesList, readNpy(gallery).shape[0], 'image paths').map((p) => relative(mdir, resolve(dirname(imagesList), p))) : undefined;
    g = makeGalleryFile({ features: gallery, out: join(mdir, 'gallery.bin'), dtype, thumbsIdx, images, model: sidecar.source?.file });
    config.gallery = 'models/default/gallery.bin';
  }
  writeAtomic(join(out, 'config.json'), JSON.stringify(config, null, 1));
  return { out, gallery: g };
}

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z_-]+)$/.exec(argv[i]);
    if (!m) throw new SiteError(`unexpected argument ${argv[i]}`);
    const key = m[1].replace(/-/g, '_');
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new SiteError(`--${m[1]} needs a value`);
    a[key] = v;
    i++;
  }
  return a;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const a = parseArgs(process.argv.slice(2));
    for (const k of Object.keys(a)) {
      if (!['model', 'gallery', 'out', 'dtype', 'thumbs_idx', 'images_list', 'web'].includes(k)) throw new SiteError(`unknown flag --${k}`);
    }
    if (!a.model || !a.out) throw new SiteError('usage: site.mjs --model model.json --out folder [--gallery features.npy] [--thumbs_idx images.idx(.gz)] [--images_list paths.txt] [--dtype float32|float16]');
    if (a.dtype && a.dtype !== 'float32' && a.dtype !== 'float16') throw new SiteError(`--dtype must be float32 or float16, got ${a.dtype}`);
    const r = makeSite({ model: a.model, gallery: a.gallery, out: a.out, dtype: a.dtype, thumbsIdx: a.thumbs_idx, imagesList: a.images_list, web: a.web });
    console.log(`site in ${r.out}${r.gallery ? ` (gallery ${r.gallery.rows} x ${r.gallery.dim}, ${r.gallery.bytes} bytes)` : ''}; serve: semembed serve --model ${a.model} --web_root ${r.out}`);
  } catch (err) {
    console.error(`site: ${err.userFacing || err.name === 'FormatError' || err.name === 'GalleryError' ? err.message : err.stack}`);
    process.exit(1);
  }
}

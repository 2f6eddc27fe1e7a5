#!/usr/bin/env node
// Thin command-line wrapper of makeSite (src/site.ts); `semembed web-site` does the same.
//   node packages/runtime-web/scripts/site.mjs --model model.json --out site [--gallery features.npy]
//        [--thumbs_idx images.idx(.gz) | --images_list paths.txt] [--dtype float32|float16]
import { makeSite } from '../dist/site.js';

const a = {};
const argv = process.argv.slice(2);
try {
  for (let i = 0; i < argv.length; i += 2) {
    const m = /^--([a-z_-]+)$/.exec(argv[i]);
    if (!m || argv[i + 1] === undefined)
      throw Object.assign(new Error(`bad argument ${argv[i]} (flags take one value each)`), { userFacing: true });
    a[m[1].replace(/-/g, '_')] = argv[i + 1];
  }
  if (!a.model || !a.out) throw Object.assign(new Error('--model and --out are required'), { userFacing: true });
  const r = makeSite({
    model: a.model,
    out: a.out,
    gallery: a.gallery,
    thumbsIdx: a.thumbs_idx,
    imagesList: a.images_list,
    dtype: a.dtype,
  });
  console.log(
    `site in ${r.out}${r.gallery ? ` (gallery ${r.gallery.rows} x ${r.gallery.dim}, ${r.gallery.bytes} bytes)` : ''}`,
  );
} catch (err) {
  console.error(`site: ${err.userFacing ? err.message : err.stack}`);
  process.exit(1);
}

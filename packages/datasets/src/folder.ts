import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import sharp from 'sharp';
import { DatasetError } from './errors.js';

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp']);

export interface FolderListing {
  layout: 'split-folders' | 'list-files';
  classes: string[];
  files: string[];
  labels: Int32Array;
}

const FOLDER_LAYOUTS =
  'Expected either <root>/train/<class>/*.jpg|png and <root>/test/<class>/... (or val/), or <root>/<class>/... ' +
  'with <root>/train.txt and <root>/test.txt listing "<class>/<file>" lines (the reference\'s layout).';

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function subfolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && isDir(join(dir, n)))
    .sort();
}

function imagesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && IMAGE_EXT.has(extname(n).toLowerCase()))
    .sort()
    .map((n) => join(dir, n));
}

/**
 * Lists one split of an image-folder dataset. Class indices follow the sorted class folder names (the
 * reference's order), or the order of `classes` when given (then other folders are ignored).
 */
export function listImageFolder(root: string, split: 'train' | 'test', classes?: string[]): FolderListing {
  if (!isDir(root))
    throw new DatasetError(`image folder ${root} does not exist or is not a directory. ${FOLDER_LAYOUTS}`);
  const trainDir = join(root, 'train');
  const testDir = [join(root, 'test'), join(root, 'val')].find(isDir);
  const hasLists = existsSync(join(root, 'train.txt')) && existsSync(join(root, 'test.txt'));
  if (isDir(trainDir) && testDir && !hasLists) {
    const all = subfolders(trainDir);
    if (all.length === 0) throw new DatasetError(`${trainDir} has no class sub-folders. ${FOLDER_LAYOUTS}`);
    const cls = classes ?? all;
    const splitDir = split === 'train' ? trainDir : testDir;
    const files: string[] = [];
    const labels: number[] = [];
    cls.forEach((c, i) => {
      const d = join(splitDir, c);
      if (!isDir(d)) return; // like the reference: listed classes without images keep their index
      for (const f of imagesIn(d)) {
        files.push(f);
        labels.push(i);
      }
    });
    if (classes && !classes.some((c) => all.includes(c))) {
      throw new DatasetError(
        `none of the ${classes.length} classes in the class list ('${classes.slice(0, 3).join("', '")}'` +
          `${classes.length > 3 ? ', ...' : ''}) has a folder in ${trainDir}; wrong class embedding file?`,
      );
    }
    if (files.length === 0) throw new DatasetError(`no JPEG/PNG/WebP images in the class folders of ${splitDir}`);
    return { layout: 'split-folders', classes: cls, files, labels: Int32Array.from(labels) };
  }
  if (hasLists) {
    const all = subfolders(root);
    const cls = classes ?? all;
    const index = new Map(cls.map((c, i) => [c, i]));
    const list = join(root, split === 'train' ? 'train.txt' : 'test.txt');
    const files: string[] = [];
    const labels: number[] = [];
    readFileSync(list, 'utf8')
      .split(/\r?\n/)
      .forEach((line, ln) => {
        const rel = line.trim();
        if (rel === '') return;
        const c = dirname(rel);
        const lbl = index.get(c);
        if (lbl === undefined) return; // the reference skips images of classes not in the list
        const f = join(root, rel);
        if (!existsSync(f)) throw new DatasetError(`${list}:${ln + 1}: image ${rel} does not exist`);
        files.push(f);
        labels.push(lbl);
      });
    if (files.length === 0)
      throw new DatasetError(
        `${list} lists no images of known classes (class folders: ${all.slice(0, 5).join(', ')}${all.length > 5 ? ', ...' : ''})`,
      );
    return { layout: 'list-files', classes: cls, files, labels: Int32Array.from(labels) };
  }
  throw new DatasetError(`${root} is not an image-folder dataset. ${FOLDER_LAYOUTS}`);
}

/**
 * Decodes images with sharp (libvips), converted to 3-channel sRGB with alpha dropped (as PIL's
 * convert('RGB')), resized so the smaller side is `size` (bilinear) and centre-cropped to size x size.
 */
export async function decodeImages(
  files: string[],
  size: number,
  onProgress?: (done: number, total: number) => void,
  concurrency = 8,
): Promise<Uint8Array> {
  const per = size * size * 3;
  const out = new Uint8Array(files.length * per);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= files.length) return;
      const f = files[i];
      let data: Buffer;
      let channels: number;
      try {
        const r = await sharp(f, { failOn: 'error' })
          .removeAlpha()
          .toColourspace('srgb')
          .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'linear' })
          .raw()
          .toBuffer({ resolveWithObject: true });
        data = r.data;
        channels = r.info.channels;
        if (r.info.width !== size || r.info.height !== size) throw new Error(`got ${r.info.width}x${r.info.height}`);
      } catch (e) {
        throw new DatasetError(`${f}: cannot decode image (${(e as Error).message.split('\n')[0]})`);
      }
      const o = i * per;
      if (channels === 3) out.set(data, o);
      else {
        for (let p = 0; p < size * size; p++) {
          const v = data[p * channels];
          out[o + p * 3] = v;
          out[o + p * 3 + 1] = channels >= 3 ? data[p * channels + 1] : v;
          out[o + p * 3 + 2] = channels >= 3 ? data[p * channels + 2] : v;
        }
      }
      done++;
      onProgress?.(done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return out;
}

export function classNameOf(file: string): string {
  return basename(dirname(file));
}

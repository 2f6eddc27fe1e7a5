import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { extname, join, relative, resolve, sep, basename } from 'node:path';
import { RuntimeNodeError } from './errors.js';
import type { Model } from './model.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export interface ImageEntry {
  /** Absolute path. */
  file: string;
  /** Id written next to the features: the path relative to the input folder (or the file as given). */
  id: string;
  /** Class label: the name of the class subfolder, when the input folder has class subfolders. */
  label?: string;
}

/**
 * Lists the images to embed. A folder whose images all sit in direct subfolders is a class-folder
 * dataset (label = subfolder name, as Keras' flow_from_directory); otherwise images are found
 * recursively without labels. Files are sorted so runs are reproducible.
 */
export function listImages(inputs: string[]): ImageEntry[] {
  const entries: ImageEntry[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new RuntimeNodeError(`--input ${input}: no such file or folder`);
    const abs = resolve(input);
    if (statSync(abs).isFile()) {
      entries.push({ file: abs, id: input });
      continue;
    }
    const top = readdirSync(abs, { withFileTypes: true });
    const topImages = top.filter((d) => d.isFile() && isImage(d.name));
    const subdirs = top
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    if (topImages.length === 0 && subdirs.length > 0) {
      for (const cls of subdirs) {
        for (const f of walk(join(abs, cls)))
          entries.push({ file: f, id: relative(abs, f).split(sep).join('/'), label: cls });
      }
    } else {
      for (const f of walk(abs)) entries.push({ file: f, id: relative(abs, f).split(sep).join('/') });
    }
  }
  if (entries.length === 0)
    throw new RuntimeNodeError(
      `--input ${inputs.join(' ')}: no images found (looked for ${IMAGE_EXTENSIONS.join(', ')})`,
    );
  return entries;
}

function isImage(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase()) && !basename(name).startsWith('.');
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...walk(p));
    else if (d.isFile() && isImage(d.name)) out.push(p);
  }
  return out;
}

export interface EmbedImagesOptions {
  batchSize?: number;
  maxImagePixels?: number;
  /** Called after each batch with the number of images done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface EmbedImagesResult {
  /** n x dim row-major, L2-normalised. */
  features: Float32Array;
  n: number;
  dim: number;
  ids: string[];
  /** Present when every image came from a class subfolder. */
  labels?: string[];
  /** n x classes probabilities when the model has a probabilities output. */
  probabilities?: Float32Array;
}

/**
 * Embeds image files / folders with a loaded model, in batches. Reads files one batch at a time so
 * memory stays bounded on large folders.
 */
export async function embedImages(
  model: Model,
  inputs: string[] | ImageEntry[],
  opts: EmbedImagesOptions = {},
): Promise<EmbedImagesResult> {
  const entries =
    typeof inputs[0] === 'string' || inputs.length === 0 ? listImages(inputs as string[]) : (inputs as ImageEntry[]);
  model.requireEmbedding('give image features');
  const bs = opts.batchSize ?? 32;
  let features: Float32Array | undefined;
  let probabilities: Float32Array | undefined;
  let dim = 0;
  for (let start = 0; start < entries.length; start += bs) {
    const chunk = entries.slice(start, start + bs);
    const bytes = chunk.map((e) => readFileSync(e.file));
    const results = await model.embedImages(bytes, {
      batchSize: bs,
      maxImagePixels: opts.maxImagePixels,
      sources: chunk.map((e) => e.file),
    });
    if (!features) {
      dim = results[0].embedding.length;
      features = new Float32Array(entries.length * dim);
      if (results[0].probabilities) probabilities = new Float32Array(entries.length * results[0].probabilities.length);
    }
    results.forEach((r, i) => {
      features!.set(r.embedding, (start + i) * dim);
      if (probabilities && r.probabilities) probabilities.set(r.probabilities, (start + i) * r.probabilities.length);
    });
    opts.onProgress?.(Math.min(start + bs, entries.length), entries.length);
  }
  const labels = entries.every((e) => e.label !== undefined) ? entries.map((e) => e.label!) : undefined;
  return {
    features: features!,
    n: entries.length,
    dim,
    ids: entries.map((e) => e.id),
    ...(labels && { labels }),
    ...(probabilities && { probabilities }),
  };
}

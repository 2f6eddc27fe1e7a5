import sharp, { type OutputInfo } from 'sharp';
import { ImageError } from './errors.js';
import { normalizePixels } from '@semembed/model';
import type { Sidecar } from './sidecar.js';

/** Accepted encodings; anything else (GIF, TIFF, SVG, ...) is refused rather than silently decoded. */
export const ACCEPTED_FORMATS = ['jpeg', 'png', 'webp'] as const;
/** Default cap on decoded image size (width x height) so a small file cannot expand to gigabytes. */
export const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;

export interface PreprocessOptions {
  /** Largest accepted width x height of an input image (default 40 megapixels); larger gives a 413. */
  maxImagePixels?: number;
  /** Names the image in error messages (file name, multipart field, list index). */
  source?: string;
}

/**
 * Decodes one JPEG / PNG / WebP, scales it so it covers the model's input (shorter side fits), crops
 * the centre, converts to RGB or gray and writes `(pixel - mean[c]) / std[c]` in the model's layout
 * into `out` starting at `offset`.
 */
export async function preprocessImage(
  bytes: Uint8Array,
  sidecar: Sidecar,
  out: Float32Array,
  offset: number,
  opts: PreprocessOptions = {},
): Promise<void> {
  const where = opts.source ? `${opts.source}: ` : '';
  const maxPixels = opts.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (bytes.byteLength === 0) throw new ImageError(`${where}empty image`);
  // The format is read from the magic bytes so that one sharp pass suffices (a metadata() call first
  // costs a second trip through the thread pool per image).
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ImageError(
      `${where}not a JPEG, PNG or WebP image (starts with ${Buffer.from(bytes.subarray(0, 4)).toString('hex') || 'nothing'})`,
    );
  }
  const [H, W] = sidecar.preprocessing.resize;
  const C = sidecar.input.channels;
  let pixels: Buffer;
  let info: OutputInfo;
  try {
    ({ data: pixels, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate() // honour EXIF orientation as a viewer would
      .resize(W, H, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .removeAlpha()
      .toColourspace(C === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true }));
  } catch (err) {
    const msg = shortSharpMessage(err);
    if (/pixel limit/i.test(msg)) {
      const size = await sharp(bytes, { limitInputPixels: false })
        .metadata()
        .then(
          (m) => `${m.width}x${m.height}`,
          () => 'too many',
        );
      throw new ImageError(`${where}image is ${size} pixels, more than the limit of ${maxPixels}`, 413);
    }
    throw new ImageError(`${where}corrupt ${format} image (${msg})`);
  }
  if (info.width !== W || info.height !== H || info.channels !== C) {
    throw new ImageError(`${where}decoded to ${info.width}x${info.height}x${info.channels}, expected ${W}x${H}x${C}`);
  }
  pixelsToTensor(pixels, sidecar, out, offset);
}

/** Interleaved 8-bit pixels (H x W x C, as decoded) -> normalised floats in the model's layout (@semembed/model). */
export function pixelsToTensor(pixels: Uint8Array, sidecar: Sidecar, out: Float32Array, offset: number): void {
  normalizePixels(pixels, sidecar, out, offset);
}

function shortSharpMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .split('\n')[0]
    .replace(/^Input (buffer|file) /, '')
    .trim();
}

/** JPEG, PNG or WebP by their signatures; anything else (GIF, TIFF, SVG, HEIF, ...) is refused. */
export function sniffFormat(b: Uint8Array): 'jpeg' | 'png' | 'webp' | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    b[1] === 0x50 &&
    b[2] === 0x4e &&
    b[3] === 0x47 &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  )
    return 'png';
  if (
    b.length >= 12 &&
    String.fromCharCode(...b.subarray(0, 4)) === 'RIFF' &&
    String.fromCharCode(...b.subarray(8, 12)) === 'WEBP'
  )
    return 'webp';
  return undefined;
}

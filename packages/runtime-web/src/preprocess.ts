import { ImageError, firstLine } from './errors.js';
import { normalizePixels } from '@semembed/model';
import type { Sidecar } from './sidecar.js';

/** What the browser runtime takes as an image. */
export type ImageInput = HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageBitmap | ImageData | Blob;

/** Default cap on decoded width x height (as runtime-node), so a small file cannot expand to gigabytes. */
export const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;

export interface PreprocessOptions {
  maxImagePixels?: number;
  /** Names the image in error messages (file name, URL, index). */
  source?: string;
}

type Ctx2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

function canvas(w: number, h: number): { ctx: Ctx2D } {
  if (typeof OffscreenCanvas !== 'undefined') {
    const c = new OffscreenCanvas(w, h);
    const ctx = c.getContext('2d', { willReadFrequently: true });
    if (ctx) return { ctx };
  }
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new ImageError('this browser gives no 2D canvas context');
  return { ctx };
}

function sourceName(input: ImageInput, opts: PreprocessOptions): string {
  if (opts.source) return opts.source;
  if (typeof File !== 'undefined' && input instanceof File) return input.name || 'file';
  if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement)
    return input.currentSrc || input.src || 'image';
  return 'image';
}

/**
 * Decodes (if needed) without colour management or premultiplication, so the pixels are the file's
 * own values as sharp reads them on the server.
 */
async function decode(
  input: ImageInput,
  where: string,
): Promise<{ src: CanvasImageSource | ImageData; width: number; height: number; close?: () => void }> {
  if (typeof ImageData !== 'undefined' && input instanceof ImageData)
    return { src: input, width: input.width, height: input.height };
  if (input instanceof Blob) {
    if (input.size === 0) throw new ImageError(`${where}: empty file`);
    let bmp: ImageBitmap;
    try {
      bmp = await createImageBitmap(input, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    } catch (err) {
      const head = Array.from(new Uint8Array(await input.slice(0, 4).arrayBuffer()), (b) =>
        b.toString(16).padStart(2, '0'),
      ).join('');
      throw new ImageError(
        `${where}: not an image this browser can decode (${input.type || 'unknown type'}, starts with ${head || 'nothing'}; ${firstLine(err)})`,
      );
    }
    return { src: bmp, width: bmp.width, height: bmp.height, close: () => bmp.close() };
  }
  if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement) {
    try {
      await input.decode();
    } catch (err) {
      throw new ImageError(`${where}: the image did not load or cannot be decoded (${firstLine(err)})`);
    }
    if (!input.naturalWidth || !input.naturalHeight) throw new ImageError(`${where}: the image has no pixels`);
    return { src: input, width: input.naturalWidth, height: input.naturalHeight };
  }
  const w = (input as { width: number }).width;
  const h = (input as { height: number }).height;
  return { src: input as CanvasImageSource, width: w, height: h };
}

/**
 * Any image -> RGBA pixels at the model's size: scaled so it covers H x W (shorter side fits), centre
 * crop, as the sidecar's `crop: 'center'` and runtime-node's sharp `fit: cover` do. An image already at
 * the model's size is copied pixel for pixel; other sizes use the canvas's high-quality scaler, which
 * is close to but not the same filter as sharp's lanczos3 (see README).
 */
export async function toModelPixels(
  input: ImageInput,
  H: number,
  W: number,
  opts: PreprocessOptions = {},
): Promise<Uint8ClampedArray> {
  const where = sourceName(input, opts);
  const max = opts.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const img = await decode(input, where);
  try {
    if (!img.width || !img.height) throw new ImageError(`${where}: the image is empty (${img.width}x${img.height})`);
    if (img.width * img.height > max)
      throw new ImageError(`${where}: image is ${img.width}x${img.height} pixels, more than the limit of ${max}`);
    if (img.src instanceof ImageData && img.width === W && img.height === H) return new Uint8ClampedArray(img.src.data);
    let src: CanvasImageSource;
    if (img.src instanceof ImageData) {
      const { ctx } = canvas(img.width, img.height);
      ctx.putImageData(img.src, 0, 0);
      src = ctx.canvas as CanvasImageSource;
    } else src = img.src;
    const scale = Math.max(W / img.width, H / img.height);
    const sw = W / scale;
    const sh = H / scale;
    const sx = (img.width - sw) / 2;
    const sy = (img.height - sh) / 2;
    const { ctx } = canvas(W, H);
    const same = img.width === W && img.height === H;
    ctx.imageSmoothingEnabled = !same;
    if (!same) ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(src, sx, sy, sw, sh, 0, 0, W, H);
    return ctx.getImageData(0, 0, W, H).data;
  } finally {
    img.close?.();
  }
}

// sRGB <-> linear, as libvips converts to 'b-w' (luminance in linear light, back to sRGB gamma).
const toLinear = new Float64Array(256).map((_, i) => {
  const c = i / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});
function toSrgb8(y: number): number {
  const c = y <= 0.0031308 ? 12.92 * y : 1.055 * y ** (1 / 2.4) - 0.055;
  return Math.min(255, Math.max(0, Math.round(c * 255)));
}

/** Gray value of one RGB pixel; exact (the value itself) for gray pixels, which is what gray images decode to. */
export function grayOf(r: number, g: number, b: number): number {
  if (r === g && g === b) return r;
  return toSrgb8(0.2126 * toLinear[r] + 0.7152 * toLinear[g] + 0.0722 * toLinear[b]);
}

/**
 * RGBA pixels (H x W x 4) -> `(pixel - mean[c]) / std[c]` in the model's layout, written into out at offset
 * (@semembed/model's normalizePixels, as on the server). Gray models take grayOf of each pixel first.
 */
export function rgbaToTensor(rgba: ArrayLike<number>, sidecar: Sidecar, out: Float32Array, offset: number): void {
  const [H, W] = sidecar.preprocessing.resize;
  const HW = H * W;
  if (rgba.length !== HW * 4) throw new ImageError(`pixels have ${rgba.length} values, expected ${H}x${W}x4`);
  if (sidecar.input.channels === 3) return normalizePixels(rgba, sidecar, out, offset, 4);
  const gray = new Uint8Array(HW);
  for (let i = 0; i < HW; i++) gray[i] = grayOf(rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]);
  normalizePixels(gray, sidecar, out, offset, 1);
}

/** One image -> normalised tensor values of one sample, written into out at offset. */
export async function preprocessImage(
  input: ImageInput,
  sidecar: Sidecar,
  out: Float32Array,
  offset: number,
  opts: PreprocessOptions = {},
): Promise<void> {
  const [H, W] = sidecar.preprocessing.resize;
  rgbaToTensor(await toModelPixels(input, H, W, opts), sidecar, out, offset);
}

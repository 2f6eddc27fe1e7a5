import { TensorError } from './errors.js';
import type { ImageSidecar } from './sidecar-schema.js';

/**
 * 8-bit pixels at the model's size -> `(pixel - mean[c]) / std[c]` in the model's layout (NHWC or NCHW), written
 * into `out` from `offset`. `pixels` holds H x W pixels of `stride` values each (the image's channels first:
 * stride 1 or 3 for decoded gray / RGB, 4 for canvas RGBA). For `colorSpace: 'bgr'` each channel is normalised
 * with its R, G, B mean/std and the model's channel k is the image's channel 2 - k (see ColorSpace).
 * Both runtimes call this, so a browser tensor equals the server's value for value.
 */
export function normalizePixels(
  pixels: ArrayLike<number>,
  sidecar: ImageSidecar,
  out: Float32Array,
  offset: number,
  stride: number = sidecar.input.channels,
): void {
  const [H, W] = sidecar.preprocessing.resize;
  const C = sidecar.input.channels;
  const { mean, std, colorSpace } = sidecar.preprocessing;
  const HW = H * W;
  if (pixels.length !== HW * stride) {
    throw new TensorError(`pixels have ${pixels.length} values, expected ${H}x${W}x${stride}`);
  }
  if (stride < C) throw new TensorError(`pixels have ${stride} values per pixel, the model takes ${C} channels`);
  const src = Array.from({ length: C }, (_, k) => (colorSpace === 'bgr' ? C - 1 - k : k));
  const m = src.map((c) => mean[mean.length === 1 ? 0 : c]);
  const s = src.map((c) => std[std.length === 1 ? 0 : c]);
  if (sidecar.input.layout === 'NHWC') {
    for (let i = 0; i < HW; i++) {
      for (let k = 0; k < C; k++) out[offset + i * C + k] = (pixels[i * stride + src[k]] - m[k]) / s[k];
    }
  } else {
    for (let k = 0; k < C; k++) {
      const base = offset + k * HW;
      for (let i = 0; i < HW; i++) out[base + i] = (pixels[i * stride + src[k]] - m[k]) / s[k];
    }
  }
}

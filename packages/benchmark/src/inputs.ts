// Deterministic inputs shared by every runner: normalised-pixel-like values (roughly N(0, 1), as after the
// sidecar's (x − mean) / std), the same on every run so --compare compares like with like.
import { mulberry32 } from '@semembed/formats';
import type { Batch, ModelFiles } from './types.js';

export function syntheticSamples(model: ModelFiles, n: number, seed = 12345): Float32Array {
  const out = new Float32Array(n * model.sampleSize);
  const rnd = mulberry32(seed);
  // Smooth images (a few sinusoids per sample) plus noise: closer to photos than white noise, so ReLU networks
  // produce non-degenerate activations and class outputs that differ between samples.
  for (let i = 0; i < n; i++) {
    const fx = 0.1 + rnd() * 0.5,
      fy = 0.1 + rnd() * 0.5,
      ph = rnd() * 6.28,
      amp = 0.8 + rnd();
    for (let j = 0; j < model.sampleSize; j++) {
      out[i * model.sampleSize + j] =
        amp * Math.sin((j % 29) * fx + Math.floor(j / 29) * fy + ph) + (rnd() - 0.5) * 0.6;
    }
  }
  return out;
}

/** A batch of `n` samples cycling through the pool (so any batch size can be served from a small pool). */
export function batchOf(pool: Float32Array, poolN: number, n: number, sampleSize: number, key: string): Batch {
  const data = new Float32Array(n * sampleSize);
  for (let i = 0; i < n; i++)
    data.set(pool.subarray((i % poolN) * sampleSize, ((i % poolN) + 1) * sampleSize), i * sampleSize);
  return { key, data, n };
}

import type { ChannelStats } from './types.js';

/**
 * Per-channel mean and population standard deviation over all pixels of all images, as Keras's
 * `ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True).fit(X_train)` computes
 * them (np.mean / np.std over axes (0, 1, 2)). Sums of integer pixels are exact in float64 up to 2^53,
 * so the one-pass variance has no cancellation problem at dataset sizes like CIFAR's.
 */
export function featurewiseStats(images: Uint8Array, channels: number): ChannelStats {
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  if (channels === 1) {
    let s = 0;
    let q = 0;
    for (let i = 0; i < images.length; i++) {
      const v = images[i];
      s += v;
      q += v * v;
    }
    sum[0] = s;
    sq[0] = q;
  } else if (channels === 3) {
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      q0 = 0,
      q1 = 0,
      q2 = 0;
    for (let i = 0; i + 2 < images.length; i += 3) {
      const a = images[i],
        b = images[i + 1],
        c = images[i + 2];
      s0 += a;
      s1 += b;
      s2 += c;
      q0 += a * a;
      q1 += b * b;
      q2 += c * c;
    }
    sum.set([s0, s1, s2]);
    sq.set([q0, q1, q2]);
  } else {
    for (let i = 0; i < images.length; i++) {
      const v = images[i];
      sum[i % channels] += v;
      sq[i % channels] += v * v;
    }
  }
  const n = images.length / channels;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = n > 0 ? sum[c] / n : 0;
    mean.push(m);
    std.push(n > 0 ? Math.sqrt(Math.max(0, sq[c] / n - m * m)) : 0);
  }
  return { mean, std };
}

/**
 * The reference's statistics for file datasets (FileDatasetGenerator._compute_stats): mean = average of
 * the per-image channel means; std = sqrt(sum over images of the per-image mean squared deviation from
 * that mean, divided by (number of images - 1)). Computed here on the stored (resized) images.
 */
export function perImageStats(images: Uint8Array, count: number, pixels: number, channels: number): ChannelStats {
  const stride = pixels * channels;
  const acc = new Float64Array(channels);
  const sumImage = (off: number) => {
    acc.fill(0);
    for (let p = 0; p < stride; p += channels) for (let c = 0; c < channels; c++) acc[c] += images[off + p + c];
  };
  const mean = new Float64Array(channels);
  for (let i = 0; i < count; i++) {
    sumImage(i * stride);
    for (let c = 0; c < channels; c++) mean[c] += acc[c] / pixels;
  }
  for (let c = 0; c < channels; c++) mean[c] /= Math.max(count, 1);
  // The reference stores the mean as float32 before the variance pass.
  const m32 = Float32Array.from(mean);
  // Squared deviations of a uint8 value depend only on (value, channel): tabulate them.
  const sq = new Float64Array(channels * 256);
  for (let c = 0; c < channels; c++) for (let v = 0; v < 256; v++) sq[c * 256 + v] = (v - m32[c]) ** 2;
  const v = new Float64Array(channels);
  for (let i = 0; i < count; i++) {
    const off = i * stride;
    acc.fill(0);
    for (let p = 0; p < stride; p += channels)
      for (let c = 0; c < channels; c++) acc[c] += sq[c * 256 + images[off + p + c]];
    for (let c = 0; c < channels; c++) v[c] += acc[c] / pixels;
  }
  return { mean: Array.from(mean), std: Array.from(v, (x) => Math.sqrt(x / Math.max(count - 1, 1))) };
}

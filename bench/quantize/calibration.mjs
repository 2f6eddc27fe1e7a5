// Calibration images for models that have no dataset here (resnet-110-wfc with random weights), shared by run.mjs
// and variants.mjs so both benchmarks calibrate on the same inputs.

/**
 * `n` smooth random images (a sine pattern per sample) in the sidecar's input size, layout and normalisation:
 * { data, n }, the shape quantizeFile's `calibration` takes.
 */
export function syntheticCalibration(sidecar, n) {
  const [h, w] = sidecar.preprocessing.resize;
  const c = sidecar.input.channels;
  const { mean, std } = sidecar.preprocessing;
  const data = new Float32Array(n * h * w * c);
  for (let s = 0; s < n; s++)
    for (let p = 0; p < h * w * c; p++) {
      const ch = sidecar.input.layout === 'NCHW' ? Math.floor(p / (h * w)) : p % c;
      const px = 127.5 + 127.5 * Math.sin(p * (0.01 + 0.003 * s) + s);
      data[s * h * w * c + p] = (px - mean[ch % mean.length]) / std[ch % std.length];
    }
  return { data, n };
}

import type { Preprocessing } from '@semembed/model';
import type { Dataset } from './types.js';

/**
 * The `preprocessing` block of the ONNX sidecar (model.json) for a model trained on `ds`:
 * x = (pixel - mean[c]) / std[c] with the std that training really divided by (std + eps).
 * `colorSpace: 'bgr'` (the -caffe variants) keeps mean/std in R, G, B order; the runtimes normalise, then reverse
 * the channels, as the trainer's BatchComposer does (see @semembed/model's ColorSpace).
 */
export function sidecarPreprocessing(ds: Dataset): Preprocessing {
  const [H, W] = ds.inputShape;
  // Folder datasets are stored at shape (smaller side resized, square crop), then centre-cropped to inputShape.
  const resize: [number, number] = [ds.shape[0], ds.shape[1]];
  return {
    resize: ds.shape[0] === H && ds.shape[1] === W ? [H, W] : resize,
    crop: 'center',
    colorSpace: ds.colorMode,
    mean: [...ds.mean],
    std: ds.std.map((s) => s + ds.stdEpsilon),
  };
}

/**
 * A copy of the dataset whose images and labels live in SharedArrayBuffers, so posting it to
 * worker_threads shares the pixels instead of copying them.
 */
export function shareDataset(ds: Dataset): Dataset {
  const images = new Uint8Array(new SharedArrayBuffer(ds.images.byteLength));
  images.set(ds.images);
  const labels = new Int32Array(new SharedArrayBuffer(ds.labels.byteLength));
  labels.set(ds.labels);
  return { ...ds, images, labels };
}

import type { Dataset } from './types.js';

/**
 * A Dataset over uint8 NHWC images already in memory (synthetic data for tests and benchmarks, single images):
 * what a loader would fill in, with neutral defaults (one class, mean 0, std 1, no augmentation) that `fields`
 * overrides.
 */
export function memoryDataset(
  images: Uint8Array,
  shape: [number, number, number],
  fields: Partial<Omit<Dataset, 'images' | 'shape'>> = {},
): Dataset {
  const [h, w, c] = shape;
  return {
    name: 'memory',
    split: 'train',
    images,
    labels: new Int32Array(images.length / (h * w * c)),
    shape,
    inputShape: shape,
    numClasses: 1,
    mean: new Array(c).fill(0),
    std: new Array(c).fill(1),
    colorMode: c === 1 ? 'gray' : 'rgb',
    augmentation: { kind: 'keras', horizontalFlip: false, widthShift: 0, heightShift: 0, zoom: null },
    stdEpsilon: 0,
    ...fields,
  };
}

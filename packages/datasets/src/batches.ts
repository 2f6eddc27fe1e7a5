import { BatchComposer } from './compose.js';
import { Rng } from './rng.js';
import type { Dataset } from './types.js';

export interface BatchOptions {
  batchSize: number;
  /** Shuffle the sample order (a new order per epoch). Default false. */
  shuffle?: boolean;
  /** Seed for shuffling and augmentation. Same (seed, epoch) -> same batches. Default 0. */
  seed?: number;
  /** Epoch number, mixed into the seed so a resumed run sees the batches an uninterrupted run would. Default 0. */
  epoch?: number;
  /** Apply the dataset's training augmentation (`dataset.augmentation`). Default false. */
  augment?: boolean;
  /** Drop the last batch when it is smaller than batchSize (the reference keeps it). Default false. */
  dropRemainder?: boolean;
  /**
   * Reuse one output buffer for all batches (default true): each yielded `x` is overwritten by the next
   * batch, so copy it (or hand it to tf.tensor, which copies) before asking for the next one.
   */
  reuseBuffer?: boolean;
}

export interface Batch {
  /** Normalised images, NHWC float32, `size * H * W * C` values. */
  x: Float32Array;
  labels: Int32Array;
  /** Dataset indices of the samples in this batch. */
  indices: Int32Array;
  size: number;
  /** [size, H, W, C] */
  shape: [number, number, number, number];
  /** Index of this batch within the epoch. */
  index: number;
}

/** Number of batches one epoch yields (the reference: ceil(N / batchSize)). */
export function numBatches(numSamples: number, batchSize: number, dropRemainder = false): number {
  return dropRemainder ? Math.floor(numSamples / batchSize) : Math.ceil(numSamples / batchSize);
}

/** The sample order of one epoch. */
export function epochOrder(
  numSamples: number,
  opts: { shuffle?: boolean; seed?: number; epoch?: number } = {},
): Int32Array {
  const order = new Int32Array(numSamples);
  for (let i = 0; i < numSamples; i++) order[i] = i;
  if (opts.shuffle) new Rng(opts.seed ?? 0, opts.epoch ?? 0, 1).shuffle(order);
  return order;
}

/** Yields one epoch of normalised (and, with `augment`, augmented) batches. */
export function* batches(ds: Dataset, opts: BatchOptions): Generator<Batch, void, undefined> {
  const bs = Math.floor(opts.batchSize);
  if (!(bs > 0)) throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
  const n = ds.labels.length;
  const order = epochOrder(n, opts);
  const augRng = new Rng(opts.seed ?? 0, opts.epoch ?? 0, 2);
  const composer = new BatchComposer(ds);
  const size = composer.inputSize;
  const [H, W, C] = ds.inputShape;
  const reuse = opts.reuseBuffer !== false;
  const x = reuse ? new Float32Array(Math.min(bs, n) * size) : undefined;
  const labels = reuse ? new Int32Array(Math.min(bs, n)) : undefined;
  const total = numBatches(n, bs, opts.dropRemainder);
  for (let b = 0; b < total; b++) {
    const start = b * bs;
    const count = Math.min(bs, n - start);
    const indices = order.subarray(start, start + count);
    const xb = reuse ? x!.subarray(0, count * size) : new Float32Array(count * size);
    const lb = reuse ? labels!.subarray(0, count) : new Int32Array(count);
    composer.compose(indices, count, xb, opts.augment === true, augRng);
    for (let i = 0; i < count; i++) lb[i] = ds.labels[indices[i]];
    yield {
      x: xb,
      labels: lb,
      indices: reuse ? indices : indices.slice(),
      size: count,
      shape: [count, H, W, C],
      index: b,
    };
  }
}

/** The whole split normalised without augmentation (for evaluation / feature dumps). */
export function normalizedImages(ds: Dataset): Float32Array {
  const composer = new BatchComposer(ds);
  const n = ds.labels.length;
  const out = new Float32Array(n * composer.inputSize);
  composer.compose(epochOrder(n), n, out, false);
  return out;
}

export type Split = 'train' | 'test';

/**
 * Training-time augmentation, as the reference configures it per dataset.
 * - `keras`: Keras `ImageDataGenerator.random_transform` (in-memory datasets: CIFAR, Fashion-MNIST):
 *   random shifts of up to `widthShift`/`heightShift` of the size (uniform, sub-pixel), optional zoom,
 *   bilinear interpolation with 'nearest' edge fill, then a random horizontal flip.
 * - `crop`: the reference's file-dataset pipeline: random horizontal flip, optional random erasing,
 *   then a random `crop` x `crop` window (center window when not augmenting).
 */
export type Augmentation =
  | {
      kind: 'keras';
      horizontalFlip: boolean;
      widthShift: number;
      heightShift: number;
      /** [lo, hi] zoom factor range (Keras zoom_range), or null for none. */
      zoom: [number, number] | null;
    }
  | {
      kind: 'crop';
      horizontalFlip: boolean;
      /** Probability of random erasing (Zhong et al. 2017); 0 disables. */
      randomErase: number;
      eraseParams: { sl: number; sh: number; r1: number; r2: number };
    };

/** An in-memory dataset split. Images are uint8 NHWC; labels are contiguous class indices. */
export interface Dataset {
  name: string;
  split: Split;
  /** N*H*W*C bytes, NHWC, channels in RGB order (or gray). */
  images: Uint8Array;
  labels: Int32Array;
  /** Stored image shape [H, W, C]. */
  shape: [number, number, number];
  /** Shape of one network input [H, W, C] (differs from `shape` for folder datasets, which crop). */
  inputShape: [number, number, number];
  /** Number of outputs a classifier needs: max label + 1 (as the reference computes it). */
  numClasses: number;
  /** Display name per class index, when the dataset ships them. */
  classNames?: string[];
  /** Original class id per class index (CIFAR label or folder name), when classes were re-enumerated or named. */
  classIds?: (number | string)[];
  /** Per-channel mean / std in 0..255 pixel units, RGB order. x = (pixel - mean[c]) / std[c]. */
  mean: number[];
  std: number[];
  /** Network input channel order; 'bgr' for the reference's `-caffe` variants (normalised in RGB, then reversed). */
  colorMode: 'rgb' | 'bgr' | 'gray';
  /** Training augmentation as the reference does it for this dataset (applied only when asked). */
  augmentation: Augmentation;
  /** Added to std before dividing (Keras's featurewise_std_normalization adds 1e-6; file datasets add 0). */
  stdEpsilon: number;
}

export type { ChannelStats } from '@semembed/model';

import { DATASET_STATS } from '@semembed/model';
import { featurewiseStats, perImageStats } from './stats.js';
import { DatasetError } from './errors.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_ROOT, readIdxSplit, type RawSplit } from './idx.js';
import { readCifarClassNames, readCifarSplit, type CifarVariant } from './cifar.js';
import { decodeImages, listImageFolder } from './folder.js';
import type { Augmentation, ChannelStats, Dataset, Split } from './types.js';

/**
 * Normalisation constants the reference uses (datasets/__init__.py, nab.py, README section 4.2): the one table in
 * @semembed/model, keyed by the reference's dataset names (CIFAR-100, ILSVRC, NAB, CUB; caffe for `-caffe`).
 */
export const KNOWN_STATS = DATASET_STATS;

export const DATASET_NAMES = [
  'FashionMNIST',
  'CIFAR-10',
  'CIFAR-100',
  'CIFAR-100-a',
  'CIFAR-100-b',
  'CIFAR-100-a-consec',
  'CIFAR-100-b-consec',
  'folder',
  'folder-ilsvrcmean',
  'folder-caffe',
];

export interface LoadOptions {
  /** Dataset folder. Default for FashionMNIST: /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist). */
  dataRoot?: string;
  /** Default 'train'. */
  split?: Split;
  /**
   * Restrict to these classes and number them 0..n-1 in this order (the reference passes the class
   * embedding's ind2label here). CIFAR / Fashion-MNIST: integer labels; folders: folder names.
   */
  classes?: (number | string)[];
  /** Use these instead of computing mean/std from the training split. */
  stats?: ChannelStats;
  /** Folder datasets: stored size (smaller side resized to this, centre square crop). Default 256. */
  imageSize?: number;
  /** Folder datasets: network input size (random crop when augmenting, centre crop otherwise). Default 224. */
  cropSize?: number;
  /** Keep only the first N samples of each split (quick runs, CI); statistics use the kept training samples. */
  limit?: number;
  /** Progress of slow steps (image decoding). */
  onProgress?: (done: number, total: number, what: string) => void;
}

interface Parsed {
  kind: 'fashion-mnist' | 'cifar' | 'folder';
  canonical: string;
  cifar?: CifarVariant;
  fixedClasses?: number[];
  reenumerate: boolean;
  statsVariant?: 'ilsvrcmean' | 'caffe';
}

function parseName(name: string): Parsed {
  let n = name.trim().toLowerCase();
  let statsVariant: Parsed['statsVariant'];
  if (n.endsWith('-ilsvrcmean')) {
    statsVariant = 'ilsvrcmean';
    n = n.slice(0, -11);
  } else if (n.endsWith('-caffe')) {
    statsVariant = 'caffe';
    n = n.slice(0, -6);
  }
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  let p: Parsed | undefined;
  if (['fashionmnist', 'fashion-mnist', 'fashion_mnist'].includes(n))
    p = { kind: 'fashion-mnist', canonical: 'FashionMNIST', reenumerate: true };
  else if (n === 'cifar-10' || n === 'cifar10')
    p = { kind: 'cifar', canonical: 'CIFAR-10', cifar: 10, reenumerate: true };
  else if (n === 'cifar-100' || n === 'cifar100')
    p = { kind: 'cifar', canonical: 'CIFAR-100', cifar: 100, reenumerate: true };
  else if (n.startsWith('cifar-100-a') || n.startsWith('cifar-100-b')) {
    const b = n[10] === 'b';
    const consec = n.endsWith('-consec');
    if (n !== `cifar-100-${b ? 'b' : 'a'}${consec ? '-consec' : ''}`) p = undefined;
    else
      p = {
        kind: 'cifar',
        canonical: `CIFAR-100-${b ? 'b' : 'a'}${consec ? '-consec' : ''}`,
        cifar: 100,
        fixedClasses: b ? range(50, 100) : range(0, 50),
        reenumerate: consec,
      };
  } else if (n === 'folder') p = { kind: 'folder', canonical: 'folder', reenumerate: true };
  if (!p) throw new DatasetError(`unknown dataset '${name}'; supported: ${DATASET_NAMES.join(', ')}`);
  if (statsVariant && p.kind !== 'folder') {
    throw new DatasetError(
      `dataset '${name}': the -${statsVariant} suffix applies to image-folder datasets only (as in the reference), not ${p.canonical}`,
    );
  }
  if (statsVariant) p.canonical += `-${statsVariant}`;
  p.statsVariant = statsVariant;
  return p;
}

/** Default training augmentation per dataset, as the reference configures it (datasets/__init__.py, common.py). */
export function defaultAugmentation(name: string): Augmentation {
  const p = parseName(name);
  if (p.kind === 'folder')
    return {
      kind: 'crop',
      horizontalFlip: true,
      randomErase: 0.5,
      eraseParams: { sl: 0.02, sh: 0.3, r1: 0.3, r2: 1 / 0.3 },
    };
  return {
    kind: 'keras',
    horizontalFlip: true,
    widthShift: 0.15,
    heightShift: 0.15,
    zoom: p.cifar === 10 && !p.fixedClasses ? [0.75, 1.25] : null,
  };
}

interface Loaded extends RawSplit {
  classNames?: string[];
  classIds?: (number | string)[];
  numClasses: number;
}

/** Keeps samples whose label is in `classes` (null entries match nothing); re-enumerated labels are positions in `classes`. */
function restrictNumeric(raw: RawSplit, classes: (number | null)[], reenumerate: boolean): RawSplit {
  const index = new Map<number, number>();
  classes.forEach((c, i) => {
    if (c !== null && !index.has(c)) index.set(c, i);
  });
  const [H, W, C] = raw.shape;
  const per = H * W * C;
  let n = 0;
  for (let i = 0; i < raw.labels.length; i++) if (index.has(raw.labels[i])) n++;
  if (n === raw.labels.length && !reenumerate) return raw;
  const images = new Uint8Array(n * per);
  const labels = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < raw.labels.length; i++) {
    const l = raw.labels[i];
    const j = index.get(l);
    if (j === undefined) continue;
    images.set(raw.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k++] = reenumerate ? j : l;
  }
  return { images, labels, shape: raw.shape };
}

/**
 * Maps a class list onto a dataset's integer labels. Like the reference (which selects `lbl in classes`),
 * ids that are no label of the dataset (e.g. extra classes of a --class_list) keep their index but get
 * no samples; only a list that matches no label at all is an error (most likely the wrong embedding).
 */
function numericClasses(classes: (number | string)[], max: number, dataset: string): (number | null)[] {
  const out = classes.map((c) => {
    const v = typeof c === 'number' ? c : /^\s*\d+\s*$/.test(c) ? Number(c) : NaN;
    return Number.isInteger(v) && v >= 0 && v < max ? v : null;
  });
  if (classes.length > 0 && out.every((v) => v === null)) {
    throw new DatasetError(
      `none of the ${classes.length} classes in the class list (${classes
        .slice(0, 3)
        .map((c) => `'${c}'`)
        .join(
          ', ',
        )}${classes.length > 3 ? ', ...' : ''}) is a ${dataset} label (0..${max - 1}); wrong class embedding file?`,
    );
  }
  return out;
}

function limitSplit<T extends RawSplit>(raw: T, limit: number | undefined): T {
  if (limit === undefined || limit >= raw.labels.length) return raw;
  const [H, W, C] = raw.shape;
  return { ...raw, images: raw.images.subarray(0, limit * H * W * C), labels: raw.labels.subarray(0, limit) };
}

async function loadSplit(p: Parsed, split: Split, opts: LoadOptions): Promise<Loaded> {
  if (p.kind === 'fashion-mnist') {
    const root = opts.dataRoot || FASHION_MNIST_ROOT;
    const raw = readIdxSplit(
      root,
      split,
      'Fashion-MNIST',
      'Install it with `apt-get install dataset-fashion-mnist` (files in /usr/share/datasets/fashion-mnist) or ' +
        'download the four *-ubyte.gz files from https://github.com/zalandoresearch/fashion-mnist and pass --data_root.',
    );
    for (let i = 0; i < raw.labels.length; i++) {
      if (raw.labels[i] > 9)
        throw new DatasetError(`${root}: Fashion-MNIST ${split} label ${i} is ${raw.labels[i]}, outside 0..9`);
    }
    if (opts.classes) {
      const cls = numericClasses(opts.classes, 10, 'Fashion-MNIST');
      return {
        ...limitSplit(restrictNumeric(raw, cls, true), opts.limit),
        classIds: cls.map((c, i) => c ?? opts.classes![i]),
        classNames: cls.map((c, i) => (c === null ? String(opts.classes![i]) : FASHION_MNIST_CLASSES[c])),
        numClasses: cls.length,
      };
    }
    return { ...limitSplit(raw, opts.limit), classNames: [...FASHION_MNIST_CLASSES], numClasses: 10 };
  }
  if (p.kind === 'cifar') {
    if (!opts.dataRoot)
      throw new DatasetError(
        `${p.canonical} needs --data_root (the folder with the CIFAR batch files); it cannot be downloaded automatically here`,
      );
    const v = p.cifar!;
    const raw = readCifarSplit(
      opts.dataRoot,
      v,
      split,
      opts.onProgress && ((d, t) => opts.onProgress!(d, t, `reading ${split} batches`)),
    );
    const names = readCifarClassNames(opts.dataRoot, v);
    if (names && names.length !== v)
      throw new DatasetError(`${opts.dataRoot}: CIFAR-${v} meta lists ${names.length} class names, expected ${v}`);
    if (p.fixedClasses) {
      // CIFAR-100-a / -b (the reference ignores the class list here): without -consec labels keep their
      // CIFAR-100 values and the classifier gets max(label) + 1 outputs, as the reference sizes it.
      const r = limitSplit(restrictNumeric(raw, p.fixedClasses, p.reenumerate), opts.limit);
      const fixed = p.fixedClasses;
      if (p.reenumerate)
        return { ...r, classIds: fixed, classNames: names && fixed.map((c) => names[c]), numClasses: fixed.length };
      return { ...r, classNames: names, numClasses: Math.max(...fixed) + 1 };
    }
    if (!opts.classes) return { ...limitSplit(raw, opts.limit), classNames: names, numClasses: v };
    const cls = numericClasses(opts.classes, v, p.canonical);
    const r = limitSplit(restrictNumeric(raw, cls, true), opts.limit);
    return {
      ...r,
      classIds: cls.map((c, i) => c ?? opts.classes![i]),
      classNames: names && cls.map((c, i) => (c === null ? String(opts.classes![i]) : names[c])),
      numClasses: cls.length,
    };
  }
  const root = opts.dataRoot;
  if (!root) throw new DatasetError('the folder dataset needs --data_root (a folder with one sub-folder per class)');
  const size = opts.imageSize ?? 256;
  const listing = listImageFolder(root, split, opts.classes?.map(String));
  const count = opts.limit === undefined ? listing.files.length : Math.min(opts.limit, listing.files.length);
  const files = listing.files.slice(0, count);
  const images = await decodeImages(
    files,
    size,
    opts.onProgress && ((d, t) => opts.onProgress!(d, t, `decoding ${split} images`)),
  );
  return {
    images,
    labels: listing.labels.slice(0, count),
    shape: [size, size, 3],
    classIds: listing.classes,
    classNames: listing.classes,
    numClasses: listing.classes.length,
  };
}

function assemble(p: Parsed, split: Split, l: Loaded, stats: ChannelStats, opts: LoadOptions): Dataset {
  const base = {
    name: p.canonical,
    split,
    images: l.images,
    labels: l.labels,
    shape: l.shape,
    numClasses: l.numClasses,
    classNames: l.classNames,
    classIds: l.classIds,
    mean: [...stats.mean],
    std: [...stats.std],
    augmentation: defaultAugmentation(p.canonical),
  };
  if (p.kind === 'folder') {
    const crop = opts.cropSize ?? 224;
    if (crop > l.shape[0]) throw new DatasetError(`cropSize ${crop} is larger than imageSize ${l.shape[0]}`);
    return {
      ...base,
      inputShape: [crop, crop, 3],
      colorMode: p.statsVariant === 'caffe' ? 'bgr' : 'rgb',
      stdEpsilon: 0,
    };
  }
  return { ...base, inputShape: [...l.shape], colorMode: l.shape[2] === 1 ? 'gray' : 'rgb', stdEpsilon: 1e-6 };
}

function statsFor(p: Parsed, train: Loaded | undefined, opts: LoadOptions): ChannelStats | undefined {
  if (opts.stats) return opts.stats;
  if (p.statsVariant === 'ilsvrcmean') return KNOWN_STATS.ILSVRC;
  if (p.statsVariant === 'caffe') return KNOWN_STATS.caffe;
  if (!train) return undefined;
  const [H, W, C] = train.shape;
  if (train.labels.length === 0)
    throw new DatasetError(`${p.canonical}: the training split is empty; cannot compute mean/std`);
  return p.kind === 'folder'
    ? perImageStats(train.images, train.labels.length, H * W, C)
    : featurewiseStats(train.images, C);
}

/**
 * Loads both splits; mean/std come from the training split (featurewise, as Keras's ImageDataGenerator.fit
 * for in-memory data; per-image averaged for folders, as the reference's _compute_stats), unless the
 * dataset name or `opts.stats` fixes them.
 */
export async function loadDatasetSplits(
  name: string,
  opts: Omit<LoadOptions, 'split'> = {},
): Promise<{ train: Dataset; test: Dataset }> {
  const p = parseName(name);
  const train = await loadSplit(p, 'train', opts);
  const test = await loadSplit(p, 'test', opts);
  const stats = statsFor(p, train, opts)!;
  return { train: assemble(p, 'train', train, stats, opts), test: assemble(p, 'test', test, stats, opts) };
}

/** Loads one split. A test split needs the training split's statistics: pass `stats` to avoid reading it. */
export async function loadDataset(name: string, opts: LoadOptions = {}): Promise<Dataset> {
  const p = parseName(name);
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new DatasetError(`unknown split '${String(split)}' (train or test)`);
  const data = await loadSplit(p, split, opts);
  let stats = statsFor(p, split === 'train' ? data : undefined, opts);
  if (!stats) stats = statsFor(p, await loadSplit(p, 'train', opts), opts)!;
  return assemble(p, split, data, stats, opts);
}

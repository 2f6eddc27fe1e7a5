import { SidecarError } from './errors.js';
import type { Preprocessing } from './sidecar-schema.js';

export interface ChannelStats {
  /** Per channel, R, G, B order. */
  mean: readonly number[];
  std: readonly number[];
}

/**
 * The one table of fixed per-channel mean / std, keyed by the reference's dataset names (`--dataset` of
 * learn_image_embeddings.py). CIFAR-100, ILSVRC, NAB and CUB are the values of the reference README §4.2 (the
 * reference computes CIFAR's from the training set; these are what it quotes). `caffe` is the ImageNet mean
 * without std of the `-caffe` models (BGR input).
 */
export const DATASET_STATS = {
  'CIFAR-100': { mean: [129.30386353, 124.06987, 112.43356323], std: [68.17019653, 65.39176178, 70.4180603] },
  ILSVRC: { mean: [122.65435242, 116.6545058, 103.99789959], std: [71.40583196, 69.56888997, 73.0440314] },
  NAB: { mean: [125.30513277, 129.66606421, 118.45121113], std: [57.0045467, 56.70059436, 68.44430446] },
  CUB: { mean: [123.82988033, 127.35116805, 110.25606303], std: [59.2230949, 58.0736071, 67.80251684] },
  caffe: { mean: [123.68, 116.779, 103.939], std: [1, 1, 1] },
} as const satisfies Record<string, ChannelStats>;

export type StatsName = keyof typeof DATASET_STATS;

/** Dataset name -> its stats and the input size the reference's dataset interface uses. */
const DATASET_INPUT: Record<string, { stats: StatsName; size: number }> = {
  'CIFAR-100': { stats: 'CIFAR-100', size: 32 },
  ILSVRC: { stats: 'ILSVRC', size: 224 },
  NAB: { stats: 'NAB', size: 224 },
  'NAB-large': { stats: 'NAB', size: 448 },
  CUB: { stats: 'CUB', size: 448 },
};

/** The names datasetPreprocessing knows, `-ilsvrcmean` variants (fine-tuned models) included. */
export function knownDatasets(): string[] {
  const names = Object.keys(DATASET_INPUT);
  return [...names, ...names.filter((d) => d !== 'CIFAR-100' && d !== 'ILSVRC').map((d) => `${d}-ilsvrcmean`)];
}

/**
 * The sidecar's preprocessing for a dataset as the reference spells it (`NAB-ilsvrcmean`: a fine-tuned model,
 * normalised with ILSVRC's statistics). `flag` names the option in the error for an unknown name.
 */
export function datasetPreprocessing(name: string, flag = '--dataset'): Preprocessing {
  const ilsvrcMean = name.endsWith('-ilsvrcmean');
  const base = ilsvrcMean ? name.slice(0, -'-ilsvrcmean'.length) : name;
  const d = DATASET_INPUT[base];
  if (!d) throw new SidecarError(`${flag} ${name}: unknown dataset; known: ${knownDatasets().join(', ')}`);
  const s = DATASET_STATS[ilsvrcMean ? 'ILSVRC' : d.stats];
  return { resize: [d.size, d.size], crop: 'center', colorSpace: 'rgb', mean: [...s.mean], std: [...s.std] };
}

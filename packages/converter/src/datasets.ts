import { ConverterError } from './errors.js';
import type { Preprocessing } from './convert.js';

/** Per-channel RGB mean / std of the reference README §4.2, and the input size its dataset interfaces use. */
const STATS = {
  'CIFAR-100': { mean: [129.30386353, 124.06987, 112.43356323], std: [68.17019653, 65.39176178, 70.4180603] },
  ILSVRC: { mean: [122.65435242, 116.6545058, 103.99789959], std: [71.40583196, 69.56888997, 73.0440314] },
  NAB: { mean: [125.30513277, 129.66606421, 118.45121113], std: [57.0045467, 56.70059436, 68.44430446] },
  CUB: { mean: [123.82988033, 127.35116805, 110.25606303], std: [59.2230949, 58.0736071, 67.80251684] },
} as const;

const DATASETS: Record<string, { stats: keyof typeof STATS; size: number }> = {
  'CIFAR-100': { stats: 'CIFAR-100', size: 32 },
  ILSVRC: { stats: 'ILSVRC', size: 224 },
  NAB: { stats: 'NAB', size: 224 },
  'NAB-large': { stats: 'NAB', size: 448 },
  CUB: { stats: 'CUB', size: 448 },
};

export function knownDatasets(): string[] {
  return [...Object.keys(DATASETS), ...Object.keys(DATASETS).filter((d) => d !== 'CIFAR-100' && d !== 'ILSVRC').map((d) => `${d}-ilsvrcmean`)];
}

/** Preprocessing for a dataset name as the reference spells it (`NAB-ilsvrcmean` = fine-tuned models). */
export function datasetPreprocessing(name: string): Preprocessing {
  const ilsvrcMean = name.endsWith('-ilsvrcmean');
  const base = ilsvrcMean ? name.slice(0, -'-ilsvrcmean'.length) : name;
  const d = DATASETS[base];
  if (!d) throw new ConverterError(`--dataset ${name}: unknown dataset; known: ${knownDatasets().join(', ')}`);
  const s = STATS[ilsvrcMean ? 'ILSVRC' : d.stats];
  return { resize: [d.size, d.size], crop: 'center', colorSpace: 'rgb', mean: [...s.mean], std: [...s.std] };
}

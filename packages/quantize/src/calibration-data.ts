// Where calibration samples and the labelled slice come from: a folder of images (preprocessed as the sidecar
// says, by the server's own code) or a dataset split (@semembed/datasets). Every problem names the file or flag.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '@semembed/datasets';
import { listImages, preprocessImage, readSidecar } from '@semembed/runtime-node';
import type { CalibrationBatch } from './calibrate.js';
import { QuantizeError } from './errors.js';

type Sidecar = ReturnType<typeof readSidecar>;

function inputSize(sc: Sidecar): number {
  const [h, w] = sc.preprocessing.resize;
  return h * w * sc.input.channels;
}

/** Up to `limit` images of DIR (recursively), preprocessed for the model of `sidecarPath`. */
export async function imagesCalibration(dir: string, sidecarPath: string, limit = 256): Promise<CalibrationBatch> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new QuantizeError(`--calibration ${dir}: not a folder`);
  const sc = readSidecar(sidecarPath);
  let entries: ReturnType<typeof listImages> = [];
  try {
    entries = listImages([dir]).slice(0, limit);
  } catch {
    // runtime-node's message names its own flag (--input): ours says --calibration below.
  }
  if (entries.length === 0) {
    const n = readdirSync(dir).length;
    const what = n ? `${n} entries, none a .png/.jpg/.webp/...` : 'the folder is empty';
    throw new QuantizeError(`--calibration ${dir}: no images (${what})`);
  }
  const per = inputSize(sc);
  const data = new Float32Array(entries.length * per);
  for (const [i, e] of entries.entries()) {
    try {
      await preprocessImage(readFileSync(e.file), sc, data, i * per);
    } catch (err) {
      const file = join(dir, e.id.startsWith(dir) ? e.id.slice(dir.length + 1) : e.id);
      throw new QuantizeError(`--calibration ${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return { data, n: entries.length };
}

export interface DatasetSamples extends CalibrationBatch {
  labels: Int32Array;
  /** Class id per label index (the dataset's own ids, as a hierarchy names them). */
  classes: (number | string)[];
}

/** The first `limit` samples of a dataset split, normalised with the sidecar's mean / std in its layout. */
export async function datasetSamples(
  name: string,
  dataRoot: string | undefined,
  sidecarPath: string,
  split: 'train' | 'test',
  limit: number,
): Promise<DatasetSamples> {
  const sc = readSidecar(sidecarPath);
  const ds = await loadDataset(name, { dataRoot, split });
  const [H, W, C] = ds.shape;
  const [h, w] = sc.preprocessing.resize;
  if (H !== h || W !== w || C !== sc.input.channels) {
    const want = `${h}x${w}x${sc.input.channels}`;
    throw new QuantizeError(`--dataset ${name}: images are ${H}x${W}x${C}, the model takes ${want}`);
  }
  const n = Math.min(limit, ds.labels.length);
  const { mean, std } = sc.preprocessing;
  const per = H * W * C;
  const data = new Float32Array(n * per);
  const nchw = sc.input.layout === 'NCHW';
  for (let s = 0; s < n; s++) {
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < C; c++) {
        const v = (ds.images[s * per + p * C + c] - mean[mean.length === 1 ? 0 : c]) / std[std.length === 1 ? 0 : c];
        data[s * per + (nchw ? c * H * W + p : p * C + c)] = v;
      }
    }
  }
  const classes = ds.classIds ?? Array.from({ length: ds.numClasses }, (_, i) => i);
  return { data, n, labels: ds.labels.slice(0, n), classes };
}

// Labelled data for the accuracy columns: a dataset (@semembed/datasets: Fashion-MNIST, CIFAR, ...) or a folder
// of class subfolders (--images), normalised as the model's sidecar says; --hierarchy adds mAHP.
import { readFileSync } from 'node:fs';
import { loadDataset } from '@semembed/datasets';
import { readHierarchy } from '@semembed/hierarchy';
import { listImages, loadModel } from '@semembed/runtime-node';
import type { Similarities } from '@semembed/retrieval';
import type { LabelledData } from './accuracy.js';
import { BenchmarkError, firstLine } from './errors.js';
import type { ModelFiles } from './types.js';

export interface LabelledOptions {
  dataset?: string;
  dataRoot?: string;
  images?: string;
  hierarchy?: string;
  /** Samples kept (the first N of the test split / folder). */
  limit?: number;
}

/** Uint8 HWC pixels -> the model's normalised input (layout, mean/std from the sidecar). */
function normalise(px: Uint8Array, n: number, hwc: [number, number, number], model: ModelFiles): Float32Array {
  const { layout } = model.sidecar.input;
  const { mean, std } = model.sidecar.preprocessing;
  const [h, w, c] = hwc;
  const out = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const v = (px[((i * h + y) * w + x) * c + k] - mean[k]) / std[k];
          out[layout === 'NCHW' ? ((i * c + k) * h + y) * w + x : ((i * h + y) * w + x) * c + k] = v;
        }
  return out;
}

function similarities(file: string, classIds: (number | string)[]): Similarities {
  try {
    const h = readHierarchy(file);
    return { WUP: h.similarityMatrix(classIds, 'WUP'), LCS_HEIGHT: h.similarityMatrix(classIds, 'LCS_HEIGHT') };
  } catch (err) {
    throw new BenchmarkError(`--hierarchy ${file}: ${firstLine(err)}`);
  }
}

export async function loadLabelled(o: LabelledOptions, model: ModelFiles): Promise<LabelledData | undefined> {
  if (!o.dataset && !o.images) return undefined;
  const limit = o.limit ?? 1000;
  if (o.images) {
    const entries = listImages([o.images]).slice(0, limit);
    if (!entries.length || entries.some((e) => e.label === undefined))
      throw new BenchmarkError(`--images ${o.images}: needs class subfolders with images (label = folder name)`);
    const names = [...new Set(entries.map((e) => e.label!))].sort();
    // Preprocessing is runtime-node's (sharp decode, resize, crop, normalise): the server's path.
    const m = await loadModel(model.onnx, { ep: 'cpu', warmup: false });
    try {
      const data = await m.preprocess(entries.map((e) => readFileSync(e.file)));
      const labels = Int32Array.from(entries, (e) => names.indexOf(e.label!));
      return {
        data,
        n: entries.length,
        labels,
        sims: o.hierarchy ? similarities(o.hierarchy, names) : undefined,
        source: `${o.images} (${entries.length} images)`,
      };
    } finally {
      await m.release();
    }
  }
  let ds;
  try {
    ds = await loadDataset(o.dataset!, { split: 'test', dataRoot: o.dataRoot, limit });
  } catch (err) {
    throw new BenchmarkError(`--dataset ${o.dataset}: ${firstLine(err)}`);
  }
  const n = ds.labels.length;
  const want = model.sampleShape;
  const hw = model.sidecar.input.layout === 'NCHW' ? [want[1], want[2], want[0]] : want;
  if (ds.inputShape.join() !== hw.join())
    throw new BenchmarkError(
      `--dataset ${o.dataset}: images are ${ds.inputShape.join('x')}, the model takes ${hw.join('x')}`,
    );
  const ids = ds.classIds ?? Array.from({ length: ds.numClasses }, (_, i) => i);
  return {
    data: normalise(ds.images, n, ds.shape, model),
    n,
    labels: ds.labels,
    sims: o.hierarchy ? similarities(o.hierarchy, ids) : undefined,
    source: `${o.dataset} test split (${n} images)`,
  };
}

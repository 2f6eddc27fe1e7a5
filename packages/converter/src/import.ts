import { basename, dirname, extname, join } from 'node:path';
import { findCatalogModel, readCatalog } from './catalog.js';
import { convertKeras, type ConvertResult, type SidecarClass } from './convert.js';
import { defaultCacheDir, downloadFile } from './download.js';
import { ConverterError } from './errors.js';
import { readKerasModelFile } from './keras-archive.js';

export interface ImportOptions {
  /** Catalog name (models/catalog.json), e.g. 'cifar100-resnet-110-wfc'. */
  name?: string;
  /** A local .h5 instead of downloading (offline import). */
  from?: string;
  architecture?: string;
  dataset?: string;
  out?: string;
  cacheDir?: string;
  catalogPath?: string;
  progress?: boolean;
  opset?: number;
  inputLayout?: 'nhwc' | 'nchw';
  fp16?: boolean;
  lambdas?: Record<string, string>;
  fetchImpl?: typeof fetch;
  /** Class labels (and their embedding rows) for the sidecar. */
  classes?: SidecarClass[];
  classEmbedding?: number[][];
  /** Merged into the sidecar's `source` (e.g. class_embedding_method, taxonomy_sha256 for the ONNX metadata). */
  sourceInfo?: Record<string, unknown>;
}

export interface ImportResult extends ConvertResult {
  h5Path: string;
}

/**
 * `semembed import`: a released model by catalog name (download with resume into the cache, then
 * convert) or a local file with --from (offline; --architecture for weights-only files).
 */
export async function importModel(o: ImportOptions): Promise<ImportResult> {
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  // What the user's flags say about the ONNX file, the same for a catalog model and a local one.
  const onnxOptions = {
    opset: o.opset,
    inputLayout: o.inputLayout,
    fp16: o.fp16,
    lambdas: o.lambdas,
    classes: o.classes,
    classEmbedding: o.classEmbedding,
  };
  if (o.name) {
    const m = findCatalogModel(o.name, readCatalog(o.catalogPath));
    const h5Path =
      o.from ??
      (await downloadFile({
        url: m.url,
        dir: cacheDir,
        sha256: m.sha256,
        bytes: m.bytes,
        progress: o.progress,
        manualHint: `run: semembed import --from <file> --architecture ${m.architecture} --dataset ${m.dataset}`,
        fetchImpl: o.fetchImpl,
      }));
    const h5 = await readKerasModelFile(h5Path);
    const res = await convertKeras({
      h5: h5Path,
      out: o.out ?? join(cacheDir, `${m.name}.onnx`),
      // The released files are full models; a weights-only copy needs the architecture.
      architecture: o.architecture ?? (h5.modelConfig === undefined ? m.architecture : undefined),
      dataset: o.dataset ?? m.dataset,
      preprocessing: {
        mean: m.preprocessing.mean,
        std: m.preprocessing.std,
        resize: m.inputSize,
        colorSpace: m.preprocessing.colorSpace,
        crop: 'center',
      },
      ...onnxOptions,
      sourceInfo: { ...o.sourceInfo, catalog: m.name, url: m.url, published: m.published },
    });
    return { ...res, h5Path };
  }
  if (!o.from) throw new ConverterError('name a catalog model (semembed import NAME) or a local file (--from file.h5)');
  const out = o.out ?? join(dirname(o.from), `${basename(o.from, extname(o.from))}.onnx`);
  const res = await convertKeras({
    h5: o.from,
    out,
    architecture: o.architecture,
    dataset: o.dataset,
    ...onnxOptions,
    sourceInfo: o.sourceInfo,
  });
  return { ...res, h5Path: o.from };
}

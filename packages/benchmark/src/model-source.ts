// MODEL: an .onnx (+ sidecar), its sidecar or folder, a Keras .h5 (converted here, and run in TF.js as it is),
// or a catalog name whose converted file is in the cache. Checked before any runner starts.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { convertKeras, defaultCacheDir, findCatalogModel, readCatalog, type ConvertOptions } from '@semembed/converter';
import { readSidecar, resolveModelFiles } from '@semembed/runtime-node';
import { BenchmarkError, firstLine } from './errors.js';
import type { ModelFiles } from './types.js';

export interface ModelSourceOptions {
  /** Folder for the converted model of an .h5. */
  work: string;
  /** Passed to the converter for .h5 input. */
  dataset?: string;
  architecture?: string;
  cacheDir?: string;
  catalogPath?: string;
}

function fromOnnx(source: string, path: string, h5?: string): ModelFiles {
  let files: { onnx: string; sidecar: string };
  try {
    files = resolveModelFiles(path);
    const sidecar = readSidecar(files.sidecar);
    const sampleShape = sidecar.input.shape.slice(1).map((d, i) => {
      if (typeof d !== 'number')
        throw new BenchmarkError(
          `${files.sidecar}: input.shape[${i + 1}] is not fixed (${JSON.stringify(sidecar.input.shape)})`,
        );
      return d;
    });
    return {
      source,
      onnx: files.onnx,
      sidecarPath: files.sidecar,
      sidecar,
      h5,
      sampleShape,
      sampleSize: sampleShape.reduce((a, b) => a * b, 1),
      outputNames: sidecar.outputs.map((o) => o.name),
    };
  } catch (err) {
    if (err instanceof BenchmarkError) throw err;
    throw new BenchmarkError(`MODEL ${source}: ${firstLine(err)}`);
  }
}

/**
 * A sidecar next to the .h5 (`name.json`, or `model.json` as the pipeline writes it) knows the preprocessing, the
 * classes and the class embedding the .h5 does not carry; the conversion reuses them.
 */
function besideSidecar(h5: string): Pick<ConvertOptions, 'preprocessing' | 'classes' | 'classEmbedding'> {
  for (const f of [join(dirname(h5), `${basename(h5, extname(h5))}.json`), join(dirname(h5), 'model.json')]) {
    if (!existsSync(f)) continue;
    try {
      const s = readSidecar(f);
      return { preprocessing: s.preprocessing, classes: s.classes, classEmbedding: s.classEmbedding };
    } catch {
      // not a sidecar: convert without it
    }
  }
  return {};
}

/** The cheap checks of MODEL (exists, or is a catalog name whose file is there), before any work. */
export function checkModelArg(model: string, o: Pick<ModelSourceOptions, 'cacheDir' | 'catalogPath'> = {}): void {
  const ext = extname(model).toLowerCase();
  if (existsSync(model)) {
    const known = ['.h5', '.hdf5', '.keras', '.onnx', '.json'];
    if (!known.includes(ext) && !statSync(model).isDirectory())
      throw new BenchmarkError(`MODEL ${model}: not an .onnx, sidecar .json, model folder or Keras .h5`);
    return;
  }
  catalogOnnx(model, o);
}

function catalogOnnx(
  model: string,
  o: Pick<ModelSourceOptions, 'cacheDir' | 'catalogPath'>,
): { onnx: string; h5: string } {
  if (extname(model) || model.includes('/')) throw new BenchmarkError(`MODEL ${model}: no such file`);
  let entry;
  try {
    entry = findCatalogModel(model, readCatalog(o.catalogPath));
  } catch (err) {
    throw new BenchmarkError(`MODEL ${model}: no such file, and not a catalog name (${firstLine(err)})`);
  }
  const cache = o.cacheDir ?? defaultCacheDir();
  const onnx = join(cache, `${entry.name}.onnx`);
  if (!existsSync(onnx))
    throw new BenchmarkError(
      `MODEL ${model}: catalog model not imported yet (${onnx} missing): run semembed import ${model}`,
    );
  return { onnx, h5: join(cache, decodeURIComponent(basename(new URL(entry.url).pathname))) };
}

export async function resolveModel(model: string, o: ModelSourceOptions): Promise<ModelFiles> {
  const ext = extname(model).toLowerCase();
  if (existsSync(model)) {
    if (ext === '.h5' || ext === '.hdf5' || ext === '.keras') {
      const out = join(o.work, `${basename(model, extname(model))}.onnx`);
      const beside = besideSidecar(model);
      try {
        await convertKeras({ h5: model, out, dataset: o.dataset, architecture: o.architecture, ...beside });
      } catch (err) {
        throw new BenchmarkError(`MODEL ${model}: conversion failed: ${firstLine(err)}`);
      }
      return fromOnnx(model, out, model);
    }
    if (ext === '.onnx' || ext === '.json' || statSync(model).isDirectory()) return fromOnnx(model, model);
    throw new BenchmarkError(`MODEL ${model}: not an .onnx, sidecar .json, model folder or Keras .h5`);
  }
  const { onnx, h5 } = catalogOnnx(model, o);
  return fromOnnx(model, onnx, existsSync(h5) ? h5 : undefined);
}

/** A precision variant (`--variants NAME=FILE.onnx`, e.g. from `semembed quantize`; its sidecar beside it). */
export interface VariantSpec {
  name: string;
  onnx: string;
}

/** MODEL's own precision name for its rows: the sidecar's `precision` (quantize writes it), else fp32. */
export function modelPrecision(model: ModelFiles): string {
  const p = (model.sidecar as { precision?: unknown }).precision;
  return typeof p === 'string' && p ? p : 'fp32';
}

/**
 * The cheap checks of the variants (name, file, sidecar), before any work; with `main` also that each takes
 * MODEL's input and gives its outputs, so the same inputs and reference outputs apply.
 */
export function resolveVariants(variants: VariantSpec[], main?: ModelFiles): ModelFiles[] {
  const seen = new Set<string>();
  return variants.map(({ name, onnx }) => {
    const what = `--variants ${name}=${onnx}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
      throw new BenchmarkError(`${what}: a variant name is letters, digits, '.', '_' or '-'`);
    if (seen.has(name)) throw new BenchmarkError(`${what}: the name ${name} is given twice`);
    seen.add(name);
    if (extname(onnx).toLowerCase() !== '.onnx') throw new BenchmarkError(`${what}: a variant is an .onnx file`);
    if (!existsSync(onnx)) throw new BenchmarkError(`${what}: no such file`);
    let m: ModelFiles;
    try {
      m = { ...fromOnnx(onnx, onnx), variant: name };
    } catch (err) {
      throw new BenchmarkError(`${what}: ${firstLine(err).replace(/^MODEL \S+: /, '')}`);
    }
    if (main && m.sampleShape.join() !== main.sampleShape.join())
      throw new BenchmarkError(`${what}: input ${m.sampleShape.join('x')}, MODEL takes ${main.sampleShape.join('x')}`);
    if (main && m.outputNames.join() !== main.outputNames.join())
      throw new BenchmarkError(
        `${what}: outputs ${m.outputNames.join(', ')}, MODEL's are ${main.outputNames.join(', ')}`,
      );
    return m;
  });
}

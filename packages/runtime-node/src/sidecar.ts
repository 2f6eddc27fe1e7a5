import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { parseSidecarJson, validateImageSidecar, type ImageSidecar } from '@semembed/model';
import { ModelLoadError } from './errors.js';

// The sidecar contract (type, schema, validator) is @semembed/model's; this file only finds and reads the files.
export { validateImageSidecar as validateSidecar } from '@semembed/model';
export type { ImageSidecar as Sidecar, SidecarOutput, SidecarClass, Layout, OutputKind } from '@semembed/model';

/** Where a model's files are: accepts the .onnx file, the .json sidecar or a folder with model.onnx. */
export function resolveModelFiles(path: string): { onnx: string; sidecar: string } {
  const p = resolve(path);
  if (!existsSync(p)) throw new ModelLoadError(`model not found: ${path}`);
  if (p.endsWith('.json')) {
    const sc = readSidecar(p);
    return { onnx: join(dirname(p), sc.model), sidecar: p };
  }
  if (p.endsWith('.onnx')) {
    const candidates = [p.replace(/\.onnx$/, '.json'), join(dirname(p), 'model.json')];
    const sidecar = candidates.find((c) => existsSync(c));
    if (!sidecar) {
      throw new ModelLoadError(`no sidecar for ${path}: expected ${basename(candidates[0])} or model.json beside it`);
    }
    return { onnx: p, sidecar };
  }
  const sidecar = join(p, 'model.json');
  if (!existsSync(sidecar)) throw new ModelLoadError(`no model.json in folder ${path}`);
  return { onnx: join(p, readSidecar(sidecar).model), sidecar };
}

/** Reads a sidecar file and checks it (older versions are migrated); every problem names the file and the field. */
export function readSidecar(path: string): ImageSidecar {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelLoadError(
      `${path}: cannot read the sidecar (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return validateImageSidecar(parseSidecarJson(text, path), path);
}

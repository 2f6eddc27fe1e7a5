import type { ColorSpace } from '@semembed/model';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConverterError } from './errors.js';

/** One released model of the reference (models/catalog.json). */
export interface CatalogModel {
  name: string;
  dataset: string;
  numClasses: number;
  architecture: string;
  inputSize: [number, number];
  url: string;
  sha256: string | null;
  bytes: number | null;
  embedding: string;
  outputs: string[];
  preprocessing: { colorSpace: ColorSpace; mean: number[]; std: number[]; meanStdFrom: string };
  published: { mAHP250: number | null; balancedAccuracy: number | null };
  note?: string;
}

export interface Catalog {
  format: 'semembed-model-catalog/1';
  source: string;
  models: CatalogModel[];
}

/** models/catalog.json of the repository this package sits in, unless SEMEMBED_CATALOG names another file. */
export function defaultCatalogPath(): string {
  if (process.env.SEMEMBED_CATALOG) return process.env.SEMEMBED_CATALOG;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../../models/catalog.json', '../../models/catalog.json']) {
    const p = join(here, up);
    if (existsSync(p)) return p;
  }
  return join(here, '../../../models/catalog.json');
}

export function readCatalog(path = defaultCatalogPath()): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConverterError(`${path}: cannot read the model catalog`);
  }
  let cat: Catalog;
  try {
    cat = JSON.parse(text) as Catalog;
  } catch {
    throw new ConverterError(`${path}: the model catalog is not valid JSON`);
  }
  if (cat.format !== 'semembed-model-catalog/1' || !Array.isArray(cat.models)) {
    throw new ConverterError(`${path}: not a semembed model catalog (format semembed-model-catalog/1)`);
  }
  return cat;
}

export function findCatalogModel(name: string, catalog = readCatalog()): CatalogModel {
  const m = catalog.models.find((x) => x.name === name);
  if (!m)
    throw new ConverterError(
      `unknown model '${name}'; the catalog has: ${catalog.models.map((x) => x.name).join(', ')}`,
    );
  return m;
}

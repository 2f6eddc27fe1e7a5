import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import h5wasm from 'h5wasm/node';
import { ConverterError } from './errors.js';

/** One stored weight array, named as Keras names it inside its layer group (e.g. `conv1_1/kernel:0`). */
export interface KerasWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** What a Keras-2 HDF5 file (full model or save_weights) holds. */
export interface KerasH5 {
  file: string;
  kerasVersion?: string;
  backend?: string;
  /** Parsed `model_config` attribute; absent in save_weights files. */
  modelConfig?: unknown;
  /** Layer names in `layer_names` order. */
  layerNames: string[];
  /** Weights per top-level layer name, in `weight_names` order. */
  weights: Map<string, KerasWeight[]>;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * HDF5 prints its error stack to stderr itself; checking the superblock first lets us say "not HDF5"
 * or "truncated" in one line instead of a screenful of HDF5-DIAG.
 */
function checkHdf5File(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new ConverterError(`${path}: no such file`);
  }
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(96);
    // The superblock may sit behind a user block at 0, 512, 1024, 2048, ...
    for (let base = 0; base < size; base = base === 0 ? 512 : base * 2) {
      const n = readSync(fd, head, 0, head.length, base);
      if (n < 8) break;
      if (!SIGNATURE.every((b, i) => head[i] === b)) continue;
      const version = head[8];
      let eofAddr: bigint | undefined;
      if (version === 0 || version === 1) {
        const so = head[13];
        const off = 24 + (version === 1 ? 4 : 0) + 2 * so;
        if (so === 8 && n >= off + 8) eofAddr = head.readBigUInt64LE(off);
        else if (so === 4 && n >= off + 4) eofAddr = BigInt(head.readUInt32LE(off));
      } else if (version === 2 || version === 3) {
        const so = head[9];
        const off = 12 + 2 * so;
        if (so === 8 && n >= off + 8) eofAddr = head.readBigUInt64LE(off);
        else if (so === 4 && n >= off + 4) eofAddr = BigInt(head.readUInt32LE(off));
      }
      if (eofAddr !== undefined && eofAddr !== 0xffffffffffffffffn && BigInt(base) + eofAddr > BigInt(size)) {
        throw new ConverterError(
          `${path}: truncated HDF5 file (${size} bytes on disk, its superblock says ${BigInt(base) + eofAddr}); download it again`,
        );
      }
      return;
    }
    throw new ConverterError(`${path}: not an HDF5 file (no HDF5 signature); expected a Keras .h5 model or weights file`);
  } finally {
    closeSync(fd);
  }
}

/** Runs an h5wasm call with HDF5's own stderr diagnostics captured; rethrows them as one line. */
function quietly<T>(path: string, what: string, fn: () => T): T {
  const write = process.stderr.write;
  let captured = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConverterError) throw err;
    const minor = [...captured.matchAll(/minor: (.*)/g)].map((m) => m[1].trim()).pop();
    const detail = minor ?? (err instanceof Error ? err.message : String(err));
    throw new ConverterError(`${path}: cannot read ${what} (HDF5: ${detail}); the file may be damaged or truncated`);
  } finally {
    process.stderr.write = write;
  }
}

function strList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return [value.replace(/\0+$/, '')];
  // Fixed-length strings are NUL-padded in the file.
  const clean = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString() : String(v)).replace(/\0+$/, '');
  if (Array.isArray(value)) return value.map(clean);
  // h5py stores an empty list as an empty float64 array.
  if (ArrayBuffer.isView(value)) return [];
  return [String(value)];
}

function attrValue(obj: { attrs: Record<string, { value: unknown }> }, name: string): unknown {
  const a = obj.attrs[name];
  return a === undefined ? undefined : a.value;
}

type H5Group = InstanceType<typeof h5wasm.Group>;

let ready: Promise<unknown> | undefined;

/** Reads a Keras-2 HDF5 file: config, layer order and every weight array (as float32). */
export async function readKerasH5(file: string): Promise<KerasH5> {
  const path = resolve(file);
  checkHdf5File(path);
  ready ??= h5wasm.ready;
  await ready;
  const f = quietly(file, 'the file', () => new h5wasm.File(path, 'r'));
  try {
    return quietly(file, 'the Keras contents', () => {
      const kerasVersion = attrValue(f, 'keras_version');
      const backend = attrValue(f, 'backend');
      const rawConfig = attrValue(f, 'model_config');
      let modelConfig: unknown;
      if (rawConfig !== undefined) {
        const text = rawConfig instanceof Uint8Array ? Buffer.from(rawConfig).toString() : String(rawConfig);
        try {
          modelConfig = JSON.parse(text);
        } catch {
          throw new ConverterError(`${file}: the model_config attribute is not valid JSON`);
        }
      }
      const root = (rawConfig !== undefined && f.keys().includes('model_weights') ? f.get('model_weights') : f) as H5Group;
      const layerNames = strList(attrValue(root, 'layer_names'));
      if (layerNames.length === 0 && rawConfig === undefined) {
        throw new ConverterError(
          `${file}: neither a Keras model (no model_config attribute) nor a Keras weights file (no layer_names attribute)`,
        );
      }
      const weights = new Map<string, KerasWeight[]>();
      for (const layer of layerNames) {
        const g = root.get(layer) as H5Group | null;
        if (!g) throw new ConverterError(`${file}: layer '${layer}' is listed in layer_names but has no weight group`);
        const names = strList(attrValue(g, 'weight_names'));
        const list: KerasWeight[] = [];
        for (const name of names) {
          const ds = g.get(name) as InstanceType<typeof h5wasm.Dataset> | null;
          if (!ds || !('shape' in ds)) {
            throw new ConverterError(`${file}: layer '${layer}': weight '${name}' is listed in weight_names but not stored`);
          }
          const shape = (ds.shape ?? []).map(Number);
          const v = ds.value as unknown;
          let data: Float32Array;
          if (v instanceof Float32Array) data = v;
          else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) data = Float32Array.from(v as unknown as ArrayLike<number>);
          else if (typeof v === 'number') data = Float32Array.of(v);
          else throw new ConverterError(`${file}: layer '${layer}': weight '${name}' has unsupported dtype ${String(ds.dtype)}`);
          list.push({ name, shape, data });
        }
        weights.set(layer, list);
      }
      return {
        file,
        kerasVersion: kerasVersion === undefined ? undefined : String(kerasVersion),
        backend: backend === undefined ? undefined : String(backend),
        modelConfig,
        layerNames,
        weights,
      };
    });
  } finally {
    f.close();
  }
}

/**
 * Keras-2 HDF5 model files, read and written in one place (h5wasm), for the converter and the trainer.
 *
 * Layout (as Keras 2.2.4 writes model.save / model.save_weights): root attrs `model_config` (JSON),
 * `keras_version`, `backend`; group `model_weights` with attrs `layer_names` / `backend` / `keras_version`; one
 * group per layer with attr `weight_names` and datasets at `<layer>/<weight name>` (e.g.
 * `model_weights/conv1/conv1/kernel:0`); `optimizer_weights` beside it. save_weights files have the layer groups at
 * the root. Strings are written as fixed-length byte strings, as h5py stores numpy bytes.
 */
import nodeFs, { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import h5wasm from 'h5wasm/node';
import { writeViaTemp } from './atomic.js';
import { FormatError } from './errors.js';

/** One stored weight array, named as Keras names it inside its layer group (e.g. `conv1/kernel:0`). */
export interface KerasH5Weight {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface KerasH5Layer {
  name: string;
  /** In `weight_names` order. */
  weights: KerasH5Weight[];
}

/** What a Keras-2 HDF5 file (full model or save_weights) holds. */
export interface KerasH5File {
  file: string;
  kerasVersion?: string;
  backend?: string;
  /** Parsed `model_config` attribute; absent in save_weights files. */
  modelConfig?: unknown;
  /** Every string attribute of the root (model_config's text included), e.g. a training snapshot's state. */
  attrs: Record<string, string>;
  /** In `layer_names` order. */
  layers: KerasH5Layer[];
  /** The `optimizer_weights` group's arrays (empty when absent). */
  optimizerWeights: KerasH5Weight[];
}

/** What writeKerasH5 writes. */
export interface KerasH5Content {
  /** Keras model config (class_name/config); written as the model_config attribute. Omit for weight files. */
  modelConfig?: unknown;
  layers: KerasH5Layer[];
  /** Extra weights (optimizer state) stored Keras-style in group optimizer_weights. */
  optimizerWeights?: KerasH5Weight[];
  /** Extra root attributes (JSON strings), e.g. the trainer's state in snapshots. */
  extraAttrs?: Record<string, string>;
}

type H5File = InstanceType<typeof h5wasm.File>;
type H5Group = InstanceType<typeof h5wasm.Group>;
type H5Node = H5File | H5Group;

let ready: Promise<unknown> | undefined;
async function h5(): Promise<void> {
  ready ??= h5wasm.ready;
  await ready;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * HDF5 prints its error stack to stderr itself; checking the superblock first lets us say "not HDF5" or
 * "truncated" in one line instead of a screenful of HDF5-DIAG.
 */
function checkHdf5File(path: string, file: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new FormatError(`${file}: no such file`);
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
      const so = version <= 1 ? head[13] : head[9];
      const off = version <= 1 ? 24 + (version === 1 ? 4 : 0) + 2 * so : 12 + 2 * so;
      if (version <= 3) {
        if (so === 8 && n >= off + 8) eofAddr = head.readBigUInt64LE(off);
        else if (so === 4 && n >= off + 4) eofAddr = BigInt(head.readUInt32LE(off));
      }
      if (eofAddr !== undefined && eofAddr !== 0xffffffffffffffffn && BigInt(base) + eofAddr > BigInt(size)) {
        throw new FormatError(
          `${file}: truncated HDF5 file (${size} bytes on disk, its superblock says ${BigInt(base) + eofAddr}); download it again`,
        );
      }
      return;
    }
    throw new FormatError(`${file}: not an HDF5 file (no HDF5 signature); expected a Keras .h5 model or weights file`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs an h5wasm call with HDF5's own stderr diagnostics captured; rethrows them as one line. h5wasm's node build
 * (NODERAWFS) writes them with fs.writeSync(2, heap, offset, length), past process.stderr: both are caught.
 */
function quietly<T>(file: string, what: string, fn: () => T): T {
  const write = process.stderr.write;
  const writeSync = nodeFs.writeSync;
  let captured = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  nodeFs.writeSync = ((
    fd: number,
    buf: string | NodeJS.ArrayBufferView,
    offset?: number,
    length?: number,
    ...rest: unknown[]
  ) => {
    if (fd !== 2) return (writeSync as (...a: unknown[]) => number)(fd, buf, offset, length, ...rest);
    if (typeof buf === 'string') {
      captured += buf;
      return Buffer.byteLength(buf);
    }
    const off = offset ?? 0;
    const len = length ?? buf.byteLength - off;
    captured += Buffer.from(buf.buffer, buf.byteOffset + off, len).toString();
    return len;
  }) as typeof nodeFs.writeSync;
  try {
    return fn();
  } catch (err) {
    if (err instanceof FormatError) throw err;
    const minor = [...captured.matchAll(/minor: (.*)/g)].map((m) => m[1].trim()).pop();
    const detail = minor ?? (err instanceof Error ? err.message : String(err));
    throw new FormatError(`${file}: cannot read ${what} (HDF5: ${detail}); the file may be damaged or truncated`);
  } finally {
    process.stderr.write = write;
    nodeFs.writeSync = writeSync;
  }
}

const text = (v: unknown): string =>
  (v instanceof Uint8Array ? Buffer.from(v).toString() : String(v)).replace(/\0+$/, '');

/** A string-list attribute as h5py and Keras store them (fixed-length, NUL-padded; [] as an empty float64 array). */
function strList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return [text(value)];
  if (Array.isArray(value)) return value.map(text);
  if (ArrayBuffer.isView(value)) return [];
  return [String(value)];
}

function attrValue(obj: H5Node, name: string): unknown {
  const a = (obj.attrs as Record<string, { value: unknown }>)[name];
  return a === undefined ? undefined : a.value;
}

function toFloat32(v: unknown, file: string, where: string, dtype: unknown): Float32Array {
  if (v instanceof Float32Array) return v;
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Float32Array.from(v, Number);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Float32Array.from(v as unknown as ArrayLike<number>);
  if (typeof v === 'number' || typeof v === 'bigint') return Float32Array.of(Number(v)); // a scalar dataset
  throw new FormatError(`${file}: ${where} has unsupported dtype ${String(dtype)}`);
}

function readWeights(file: string, g: H5Group, names: string[], where: string): KerasH5Weight[] {
  return names.map((name) => {
    const ds = g.get(name) as InstanceType<typeof h5wasm.Dataset> | null;
    if (!ds || !('shape' in ds))
      throw new FormatError(`${file}: ${where}: weight '${name}' is listed in weight_names but not stored`);
    const shape = (ds.shape ?? []).map(Number);
    return { name, shape, data: toFloat32(ds.value, file, `${where}: weight '${name}'`, ds.dtype) };
  });
}

/** Reads a Keras-2 HDF5 file (model or save_weights): config, attributes, layers and every weight as float32. */
export async function readKerasH5(file: string): Promise<KerasH5File> {
  const path = resolve(file);
  checkHdf5File(path, file);
  await h5();
  const f = quietly(file, 'the file', () => new h5wasm.File(path, 'r'));
  try {
    return quietly(file, 'the Keras contents', () => {
      const attrs: Record<string, string> = {};
      for (const name of Object.keys(f.attrs)) {
        const v = attrValue(f, name);
        if (typeof v === 'string' || v instanceof Uint8Array) attrs[name] = text(v);
      }
      let modelConfig: unknown;
      if (attrs.model_config !== undefined) {
        try {
          modelConfig = JSON.parse(attrs.model_config);
        } catch {
          throw new FormatError(`${file}: the model_config attribute is not valid JSON`);
        }
      }
      const keys = f.keys();
      const root = (keys.includes('model_weights') ? f.get('model_weights') : f) as H5Group;
      const layerNames = strList(attrValue(root, 'layer_names'));
      if (layerNames.length === 0 && modelConfig === undefined && attrValue(root, 'layer_names') === undefined) {
        throw new FormatError(
          `${file}: neither a Keras model (no model_config attribute) nor a Keras weights file (no layer_names attribute)`,
        );
      }
      const layers = layerNames.map((layer) => {
        const g = root.get(layer) as H5Group | null;
        if (!g) throw new FormatError(`${file}: layer '${layer}' is listed in layer_names but has no weight group`);
        return {
          name: layer,
          weights: readWeights(file, g, strList(attrValue(g, 'weight_names')), `layer '${layer}'`),
        };
      });
      let optimizerWeights: KerasH5Weight[] = [];
      if (keys.includes('optimizer_weights')) {
        const og = f.get('optimizer_weights') as H5Group;
        optimizerWeights = readWeights(file, og, strList(attrValue(og, 'weight_names')), 'optimizer_weights');
      }
      return {
        file,
        kerasVersion: attrs.keras_version,
        backend: attrs.backend,
        modelConfig,
        attrs,
        layers,
        optimizerWeights,
      };
    });
  } finally {
    // A file HDF5 failed to open has no valid id: closing it prints more diagnostics (and fails) too.
    try {
      quietly(file, 'the file', () => f.close());
    } catch {
      // the reading error above is the one to report
    }
  }
}

function strAttr(g: H5Node, name: string, value: string): void {
  g.create_attribute(name, value, null, `A${Math.max(1, Buffer.byteLength(value, 'utf8'))}`);
}

function strListAttr(g: H5Node, name: string, values: string[]): void {
  const len = Math.max(1, ...values.map((v) => Buffer.byteLength(v, 'utf8')));
  g.create_attribute(name, values, [values.length], `A${len}`);
}

function writeDataset(g: H5Group, w: KerasH5Weight): void {
  // Weight names contain '/': create the intermediate groups as h5py does.
  const parts = w.name.split('/');
  let cur = g;
  for (const p of parts.slice(0, -1)) cur = (cur.keys().includes(p) ? cur.get(p) : cur.create_group(p)) as H5Group;
  cur.create_dataset({ name: parts[parts.length - 1], data: w.data, shape: w.shape, dtype: '<f4' });
}

function writeLayers(g: H5Group, layers: KerasH5Layer[]): void {
  strListAttr(
    g,
    'layer_names',
    layers.map((l) => l.name),
  );
  strAttr(g, 'backend', 'tensorflow');
  strAttr(g, 'keras_version', '2.2.4');
  for (const layer of layers) {
    const lg = g.create_group(layer.name);
    strListAttr(
      lg,
      'weight_names',
      layer.weights.map((w) => w.name),
    );
    for (const w of layer.weights) writeDataset(lg, w);
  }
}

/**
 * Writes a Keras-2 model file (`kind` 'model', with modelConfig) or a save_weights file ('weights'), as Keras 2.2.4
 * does, through a temporary file: the target appears complete or not at all.
 */
export async function writeKerasH5(
  file: string,
  content: KerasH5Content,
  kind: 'model' | 'weights' = 'model',
): Promise<void> {
  await h5();
  try {
    await writeViaTemp(resolve(file), (tmp) => {
      const f = new h5wasm.File(tmp, 'w');
      try {
        if (kind === 'weights') {
          writeLayers(f as unknown as H5Group, content.layers); // save_weights: the layer groups sit at the root
          return;
        }
        strAttr(f, 'keras_version', '2.2.4');
        strAttr(f, 'backend', 'tensorflow');
        // Keras ignores it; the converter's doc_string tells our models from Keras's by it (issue #13).
        strAttr(f, 'semembed_producer', 'semembed');
        if (content.modelConfig !== undefined) strAttr(f, 'model_config', JSON.stringify(content.modelConfig));
        for (const [k, v] of Object.entries(content.extraAttrs ?? {})) strAttr(f, k, v);
        writeLayers(f.create_group('model_weights'), content.layers);
        if (content.optimizerWeights?.length) {
          const og = f.create_group('optimizer_weights');
          strListAttr(
            og,
            'weight_names',
            content.optimizerWeights.map((w) => w.name),
          );
          for (const w of content.optimizerWeights) writeDataset(og, w);
        }
      } finally {
        f.close();
      }
    });
  } catch (err) {
    if (err instanceof FormatError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new FormatError(`cannot write ${file}: ${code ?? (err as Error).message ?? String(err)}`);
  }
}

/**
 * Keras-2 HDF5 files as Keras 2.2.4 writes them (model.save / model.save_weights), via h5wasm:
 * root attrs model_config (JSON), keras_version '2.2.4', backend 'tensorflow'; group model_weights with attrs
 * layer_names / backend / keras_version; one group per layer with attr weight_names and datasets at
 * '<layer>/<weight name>' (e.g. model_weights/conv1/conv1/kernel:0). Strings are fixed-length byte strings,
 * as h5py stores numpy bytes. Writes go to a temporary file in the same folder, renamed at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import h5wasm from 'h5wasm/node';
import { TrainerError } from './errors.js';

export interface H5Weight {
  /** Keras weight name, e.g. 'conv1/kernel:0'. */
  name: string;
  shape: number[];
  data: Float32Array;
}
export interface H5Layer {
  name: string;
  weights: H5Weight[];
}
export interface KerasH5Content {
  /** Keras model config (class_name/config); written as the model_config attribute. Omit for weight files. */
  modelConfig?: unknown;
  layers: H5Layer[];
  /** Extra weights (optimizer state) stored Keras-style in group optimizer_weights. */
  optimizerWeights?: H5Weight[];
  /** Extra root attributes (JSON strings), e.g. our training state in snapshots. */
  extraAttrs?: Record<string, string>;
}

type H5File = InstanceType<typeof h5wasm.File>;
type H5Group = ReturnType<H5File['create_group']>;

let ready: Promise<unknown> | undefined;
async function h5(): Promise<void> {
  ready ??= h5wasm.ready;
  await ready;
}

function strAttr(g: H5Group | H5File, name: string, value: string): void {
  const bytes = Buffer.byteLength(value, 'utf8');
  g.create_attribute(name, value, null, `A${Math.max(1, bytes)}`);
}

function strListAttr(g: H5Group | H5File, name: string, values: string[]): void {
  const len = Math.max(1, ...values.map((v) => Buffer.byteLength(v, 'utf8')));
  g.create_attribute(name, values, [values.length], `A${len}`);
}

function writeWeights(g: H5Group, layers: H5Layer[]): void {
  strListAttr(g, 'layer_names', layers.map((l) => l.name));
  strAttr(g, 'backend', 'tensorflow');
  strAttr(g, 'keras_version', '2.2.4');
  for (const layer of layers) {
    const lg = g.create_group(layer.name);
    strListAttr(lg, 'weight_names', layer.weights.map((w) => w.name));
    for (const w of layer.weights) writeDataset(lg, w);
  }
}

function writeDataset(g: H5Group, w: H5Weight): void {
  // Weight names contain '/': create the intermediate groups as h5py does.
  const parts = w.name.split('/');
  let cur = g;
  for (const p of parts.slice(0, -1)) {
    cur = (cur.keys().includes(p) ? cur.get(p) : cur.create_group(p)) as H5Group;
  }
  cur.create_dataset({ name: parts[parts.length - 1], data: w.data, shape: w.shape, dtype: '<f4' });
}

/** Writes a Keras-2 model file (with modelConfig) or weights-only file (without), atomically. */
export async function writeKerasH5(file: string, content: KerasH5Content, kind: 'model' | 'weights' = 'model'): Promise<void> {
  await h5();
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new TrainerError(`cannot write ${file}: folder ${dir} does not exist`);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const f = new h5wasm.File(tmp, 'w');
    try {
      if (kind === 'model') {
        strAttr(f, 'keras_version', '2.2.4');
        strAttr(f, 'backend', 'tensorflow');
        if (content.modelConfig !== undefined) strAttr(f, 'model_config', JSON.stringify(content.modelConfig));
        for (const [k, v] of Object.entries(content.extraAttrs ?? {})) strAttr(f, k, v);
        writeWeights(f.create_group('model_weights'), content.layers);
        if (content.optimizerWeights?.length) {
          const og = f.create_group('optimizer_weights');
          strListAttr(og, 'weight_names', content.optimizerWeights.map((w) => w.name));
          for (const w of content.optimizerWeights) writeDataset(og, w);
        }
      } else {
        // Keras save_weights: the layer groups sit at the root.
        writeWeights(f as unknown as H5Group, content.layers);
      }
    } finally {
      f.close();
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if (err instanceof TrainerError) throw err;
    throw new TrainerError(`cannot write ${file}: ${(err as Error).message ?? String(err)}`);
  }
}

function decodeStrings(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  const arr = Array.isArray(v) ? v : typeof v === 'string' ? [v] : Array.from(v as ArrayLike<unknown>);
  return arr.map((s) => (typeof s === 'string' ? s : new TextDecoder().decode(s as Uint8Array))).map((s) => s.replace(/\0+$/, ''));
}

/** Reads a Keras-2 .h5 (model or weights file): layers with their weights in file order, attrs as strings. */
export async function readKerasH5(file: string): Promise<{ layers: H5Layer[]; attrs: Record<string, string>; optimizerWeights: H5Weight[] }> {
  await h5();
  if (!fs.existsSync(file)) throw new TrainerError(`${file}: no such file`);
  let f: H5File;
  try {
    f = new h5wasm.File(file, 'r');
  } catch (err) {
    throw new TrainerError(`${file}: not an HDF5 file (${(err as Error).message})`);
  }
  try {
    const attrs: Record<string, string> = {};
    for (const name of Object.keys(f.attrs)) {
      const v = f.get_attribute(name, true);
      if (typeof v === 'string') attrs[name] = v;
    }
    const root = (f.keys().includes('model_weights') ? f.get('model_weights') : f) as H5Group;
    if (!Object.keys(root.attrs).includes('layer_names')) {
      throw new TrainerError(`${file}: not a Keras weights file (no layer_names attribute)`);
    }
    const layerNames = decodeStrings(root.get_attribute('layer_names', true));
    const readWeights = (g: H5Group, names: string[]): H5Weight[] =>
      names.map((wn) => {
        const ds = g.get(wn) as unknown as { value: ArrayLike<number>; shape: number[] } | null;
        if (!ds) throw new TrainerError(`${file}: weight '${wn}' listed but missing`);
        return { name: wn, shape: [...ds.shape], data: Float32Array.from(ds.value) };
      });
    const layers = layerNames.map((ln) => {
      const g = root.get(ln) as H5Group | null;
      if (!g) throw new TrainerError(`${file}: layer '${ln}' listed but missing`);
      const names = Object.keys(g.attrs).includes('weight_names') ? decodeStrings(g.get_attribute('weight_names', true)) : [];
      return { name: ln, weights: readWeights(g, names) };
    });
    let optimizerWeights: H5Weight[] = [];
    if (f.keys().includes('optimizer_weights')) {
      const og = f.get('optimizer_weights') as H5Group;
      optimizerWeights = readWeights(og, decodeStrings(og.get_attribute('weight_names', true)));
    }
    return { layers, attrs, optimizerWeights };
  } finally {
    f.close();
  }
}

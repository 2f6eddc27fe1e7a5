// Keras 3 `.keras` archives: a zip holding config.json (the model config), metadata.json (keras_version) and
// model.weights.h5. Keras 3's saving_lib stores each layer's variables not by layer name but by position:
// `layers/<snake_case(class name)>[_<n>]/vars/<i>` in the order of model.layers, nested models as
// `layers/sequential/layers/...`, RNN cells as `<layer>/cell/vars`; tf.keras 2.13-2.15 wrote
// `_layer_checkpoint_dependencies` instead of `layers`. Variable i is the i-th of the layer's trainable then
// non-trainable variables, so their names follow from the layer class and its config (use_bias, center, scale).
// This module turns that into the weights-by-layer-name map the .h5 path gives (src/h5.ts).
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import h5wasm from 'h5wasm/node';
import { ConverterError } from './errors.js';
import type { KerasConfig } from './keras.js';
import { readKerasH5, type KerasH5, type KerasWeight } from './h5.js';

type H5Group = InstanceType<typeof h5wasm.Group>;
type H5Dataset = InstanceType<typeof h5wasm.Dataset>;
type Json = KerasConfig;

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const ENTRIES = ['config.json', 'metadata.json', 'model.weights.h5'];
const bad = (file: string, msg: string): ConverterError => new ConverterError(`${file}: ${msg}`);

/** True when the file starts with a zip local-file header (what every `.keras` archive starts with). */
export function isZipFile(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && ZIP_MAGIC.every((b, i) => head[i] === b);
  } finally {
    closeSync(fd);
  }
}

/** Reads a Keras model file by its contents: a zip is a `.keras` archive, anything else goes to the HDF5 reader. */
export async function readKerasModelFile(file: string): Promise<KerasH5> {
  if (isZipFile(file) || /\.keras$/i.test(file)) return readKerasArchive(file);
  return readKerasH5(file);
}

const snakeCase = (name: string): string =>
  name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();

const gammaBeta = (cfg: Json): string[] => [
  ...(cfg.scale === false ? [] : ['gamma']),
  ...(cfg.center === false ? [] : ['beta']),
];

/** Names of a layer's stored variables, in Keras 3's order; undefined for classes whose variables we cannot name. */
function variableNames(className: string, cfg: Json): string[] | undefined {
  const bias = cfg.use_bias === false ? [] : ['bias'];
  switch (className) {
    case 'Dense':
    case 'Conv1D':
    case 'Conv2D':
    case 'Conv3D':
    case 'Conv1DTranspose':
    case 'Conv2DTranspose':
      return ['kernel', ...bias];
    case 'DepthwiseConv1D':
    case 'DepthwiseConv2D':
      return ['depthwise_kernel', ...bias];
    case 'SeparableConv1D':
    case 'SeparableConv2D':
      return ['depthwise_kernel', 'pointwise_kernel', ...bias];
    case 'BatchNormalization':
      return [...gammaBeta(cfg), 'moving_mean', 'moving_variance'];
    case 'LayerNormalization':
      return gammaBeta(cfg);
    case 'PReLU':
      return ['alpha'];
    case 'Embedding':
      return ['embeddings'];
    case 'LSTM':
    case 'GRU':
      return ['kernel', 'recurrent_kernel', ...bias];
    default:
      return undefined;
  }
}

interface Walk {
  file: string;
  h5: InstanceType<typeof h5wasm.File>;
}

function child(g: H5Group | InstanceType<typeof h5wasm.File>, name: string): H5Group | undefined {
  return g.keys().includes(name) ? (g.get(name) as H5Group) : undefined;
}

function readVars(group: H5Group | undefined, path: string): { name?: string; data: KerasWeight[] } {
  const vars = group && child(group, 'vars');
  if (!vars) return { data: [] };
  const attr = (vars.attrs as Record<string, { value: unknown }>).name;
  const keys = vars
    .keys()
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b));
  const data = keys.map((k) => {
    const ds = vars.get(k) as H5Dataset;
    const v = ds.value;
    const arr = v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>, Number);
    return { name: `${path}/vars/${k}`, shape: (ds.shape ?? []).map(Number), data: arr };
  });
  return { name: attr === undefined ? undefined : String(attr.value), data };
}

/** The layers list of a model config (Functional / Model / Sequential), or undefined for a plain layer. */
function innerLayers(layer: Json): Json[] | undefined {
  const layers = layer?.config?.layers;
  return Array.isArray(layers) ? layers : undefined;
}

/**
 * Walks one model's layers in config order (= model.layers order), naming each stored variable
 * `<outer>/.../<layer>/<weight>:0` so the converter's nested-model lookup finds it by layer name.
 */
function walkModel(
  w: Walk,
  group: H5Group | undefined,
  layers: Json[],
  prefix: string,
  out: Map<string, KerasWeight[]>,
): void {
  const used = new Map<string, number>();
  const container = group && (child(group, 'layers') ?? child(group, '_layer_checkpoint_dependencies'));
  for (const layer of layers) {
    const cls = String(layer.class_name);
    const name = String(layer.config?.name ?? layer.name);
    const snake = snakeCase(cls);
    const n = used.get(snake);
    used.set(snake, n === undefined ? 0 : n + 1);
    const key = n === undefined ? snake : `${snake}_${n + 1}`;
    const g = container && child(container, key);
    const base = container ? container.path : `${group?.path ?? ''}/layers`;
    const path = `${base}/${key}`.replace(/^\/+/, '');
    const fail = (msg: string): never => {
      throw new ConverterError(`${w.file}: layer '${prefix}${name}' (${cls}): ${msg}`);
    };
    const inner = innerLayers(layer);
    if (inner) {
      const sub = new Map<string, KerasWeight[]>();
      walkModel(w, g, inner, `${prefix}${name}/`, sub);
      out.set(
        name,
        [...sub.values()].flat().map((x) => ({ ...x, name: `${name}/${x.name}` })),
      );
      continue;
    }
    let stored = readVars(g, path);
    // RNN layers keep their variables in their cell (`<layer>/cell/vars`, named e.g. 'lstm_cell'); the name check
    // below is the layer's own group's.
    const cell = stored.data.length === 0 && g ? child(g, 'cell') : undefined;
    if (cell) stored = { name: stored.name, data: readVars(cell, `${path}/cell`).data };
    if (stored.name !== undefined && stored.name !== name) {
      fail(`model.weights.h5 group ${path} holds layer '${stored.name}': the archive's config and weights differ`);
    }
    const names = variableNames(cls, layer.config ?? {});
    if (names === undefined) {
      if (stored.data.length > 0) {
        fail(`${stored.data.length} stored weight variables, which the converter cannot name for this layer class`);
      }
      out.set(name, []);
      continue;
    }
    if (names.length > 0 && stored.data.length === 0) {
      fail(`its weights are missing from model.weights.h5 (expected ${path}/vars with ${names.join(', ')})`);
    }
    if (stored.data.length !== names.length) {
      fail(
        `model.weights.h5 stores ${stored.data.length} variables at ${path}/vars, expected ${names.length} ` +
          `(${names.join(', ')})`,
      );
    }
    out.set(
      name,
      stored.data.map((x, i) => ({ ...x, name: `${name}/${names[i]}:0` })),
    );
  }
}

function parseJson(bytes: Uint8Array, file: string, entry: string): Json {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Json;
  } catch {
    throw new ConverterError(`${file}: ${entry} in the .keras archive is not valid JSON`);
  }
}

/** Reads a Keras 3 `.keras` archive into the structure the converter uses for `.h5` files; bad ones: one line. */
export async function readKerasArchive(file: string): Promise<KerasH5> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new ConverterError(`${file}: no such file`);
  }
  if (!ZIP_MAGIC.every((b, i) => bytes[i] === b)) {
    throw bad(file, 'not a Keras 3 .keras archive (no zip signature); expected a .keras or .h5 model');
  }
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, { filter: (f) => ENTRIES.includes(f.name) });
  } catch (e) {
    throw bad(file, `damaged zip archive (${e instanceof Error ? e.message : String(e)}); save or download it again`);
  }
  if (!entries['config.json']) throw bad(file, 'the .keras archive has no config.json (the model config)');
  if (!entries['model.weights.h5']) throw bad(file, 'the .keras archive has no model.weights.h5 (the weights)');
  const modelConfig = parseJson(entries['config.json'], file, 'config.json');
  const metadata = entries['metadata.json'] ? parseJson(entries['metadata.json'], file, 'metadata.json') : {};
  const layers = innerLayers(modelConfig);
  if (!layers) throw bad(file, `config.json holds no model with layers (class ${String(modelConfig.class_name)})`);

  // h5wasm's node build reads real files only: the weights go to a private temporary directory, removed after.
  const dir = mkdtempSync(join(tmpdir(), 'semembed-keras-'));
  const weightsPath = join(dir, 'model.weights.h5');
  const weights = new Map<string, KerasWeight[]>();
  try {
    writeFileSync(weightsPath, entries['model.weights.h5']);
    await h5wasm.ready;
    let h5: InstanceType<typeof h5wasm.File>;
    try {
      h5 = new h5wasm.File(weightsPath, 'r');
    } catch {
      throw new ConverterError(`${file}: model.weights.h5 in the .keras archive is not a readable HDF5 file`);
    }
    try {
      walkModel({ file, h5 }, h5 as unknown as H5Group, layers, '', weights);
    } finally {
      h5.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const kerasVersion = typeof metadata.keras_version === 'string' ? metadata.keras_version : undefined;
  const layerNames = [...weights.keys()];
  return {
    file,
    kerasVersion,
    modelConfig,
    attrs: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)])),
    layers: layerNames.map((name) => ({ name, weights: weights.get(name) ?? [] })),
    optimizerWeights: [],
    layerNames,
    weights,
  };
}

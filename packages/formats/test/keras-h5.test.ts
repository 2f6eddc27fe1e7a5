import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { FormatError, mulberry32, randomFloat32 } from '../src/index.js';
import { readKerasH5, writeKerasH5, type KerasH5Layer } from '../src/keras-h5.js';
import { PYTHON } from './python.js';

const FIXTURE = fixturePath('keras-h5/dl4j__cnn_batch_norm.h5');

/**
 * h5py's view of a Keras file (the independent reference; python3-h5py is installed by
 * scripts/install-system-deps.sh, so a missing h5py fails the test instead of skipping it).
 */
function h5pyListing(file: string): {
  attrs: Record<string, string>;
  layers: [string, [string, number[], number][]][];
  optimizer: [string, number[], number][];
} {
  const code = [
    'import h5py, json, sys',
    'f = h5py.File(sys.argv[1], "r")',
    's = lambda v: v.decode() if isinstance(v, bytes) else str(v)',
    'root = f["model_weights"] if "model_weights" in f else f',
    'ws = lambda g, names: [[s(w), list(g[s(w)].shape), float(g[s(w)][()].astype("float64").sum())] for w in names]',
    'out = {"attrs": {k: s(v) for k, v in f.attrs.items() if isinstance(v, (str, bytes))},',
    '       "layers": [[s(n), ws(root[s(n)], root[s(n)].attrs["weight_names"])] for n in root.attrs["layer_names"]],',
    '       "optimizer": ws(f["optimizer_weights"], f["optimizer_weights"].attrs["weight_names"]) if "optimizer_weights" in f else []}',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', code, file], { encoding: 'utf8' });
  expect(r.status, `python3 with h5py is needed (apt-get install python3-h5py): ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
}

const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);

describe('Keras HDF5 files', () => {
  it('reads a file Keras wrote as h5py sees it (layers, weight names and order, shapes, values)', async () => {
    const h5 = await readKerasH5(FIXTURE);
    const ref = h5pyListing(FIXTURE);
    expect(h5.kerasVersion).toBe('2.1.3');
    expect(h5.attrs.backend).toBe(ref.attrs.backend);
    expect(h5.modelConfig).toEqual(JSON.parse(ref.attrs.model_config));
    expect(h5.layers.map((l) => l.name)).toEqual(ref.layers.map(([n]) => n));
    for (const [i, [, weights]] of ref.layers.entries()) {
      expect(h5.layers[i].weights.map((w) => [w.name, w.shape])).toEqual(weights.map(([n, shape]) => [n, shape]));
      h5.layers[i].weights.forEach((w, j) => expect(sum(w.data)).toBeCloseTo(weights[j][2], 3));
    }
    expect(h5.optimizerWeights).toEqual([]);
  });

  it('writes model and weights files that h5py reads back, and reads them back itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'semembed-h5-'));
    const r = mulberry32(11);
    const layers: KerasH5Layer[] = [
      {
        name: 'conv1',
        weights: [
          { name: 'conv1/kernel:0', shape: [3, 3, 1, 4], data: randomFloat32(36, r) },
          { name: 'conv1/bias:0', shape: [4], data: randomFloat32(4, r) },
        ],
      },
      { name: 'pool', weights: [] },
      { name: 'embedding', weights: [{ name: 'embedding/kernel:0', shape: [4, 2], data: randomFloat32(8, r) }] },
    ];
    const optimizerWeights = [{ name: 'SGD/momentum/conv1/kernel:0', shape: [3, 3, 1, 4], data: randomFloat32(36, r) }];
    const modelConfig = { class_name: 'Model', config: { name: 'm', layers: [] } };
    const model = join(dir, 'sub', 'model.h5'); // the folder is created
    await writeKerasH5(model, { modelConfig, layers, optimizerWeights, extraAttrs: { semembed_state: '{"epoch":2}' } });
    await writeKerasH5(join(dir, 'weights.h5'), { layers }, 'weights');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const ref = h5pyListing(model);
    expect(ref.attrs).toEqual({
      keras_version: '2.2.4',
      backend: 'tensorflow',
      semembed_producer: 'semembed',
      model_config: JSON.stringify(modelConfig),
      semembed_state: '{"epoch":2}',
    });
    expect(ref.layers.map(([n, ws]) => [n, ws.map(([w, s]) => [w, s])])).toEqual(
      layers.map((l) => [l.name, l.weights.map((w) => [w.name, w.shape])]),
    );
    expect(ref.optimizer[0][2]).toBeCloseTo(sum(optimizerWeights[0].data), 4);

    const back = await readKerasH5(model);
    expect(back.layers).toEqual(layers);
    expect(back.optimizerWeights).toEqual(optimizerWeights);
    expect(JSON.parse(back.attrs.semembed_state)).toEqual({ epoch: 2 });
    const w = await readKerasH5(join(dir, 'weights.h5'));
    expect(w.modelConfig).toBeUndefined();
    expect(w.attrs.model_config).toBeUndefined();
    expect(w.layers).toEqual(layers);
    expect(h5pyListing(join(dir, 'weights.h5')).layers.map(([n]) => n)).toEqual(['conv1', 'pool', 'embedding']);
  });

  it('bad files are one FormatError line naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'semembed-h5-'));
    writeFileSync(join(dir, 'text.h5'), 'not hdf5 at all');
    writeFileSync(join(dir, 'trunc.h5'), readFileSync(FIXTURE).subarray(0, 5000));
    await expect(readKerasH5(join(dir, 'nope.h5'))).rejects.toThrow(/nope\.h5: no such file$/);
    await expect(readKerasH5(join(dir, 'text.h5'))).rejects.toThrow(/text\.h5: not an HDF5 file/);
    await expect(readKerasH5(join(dir, 'trunc.h5'))).rejects.toThrow(
      /trunc\.h5: truncated HDF5 file \(5000 bytes on disk/,
    );
    await expect(readKerasH5(join(dir, 'trunc.h5'))).rejects.toBeInstanceOf(FormatError);
  });
});

describe('atomic writes', () => {
  it('a failed write leaves neither a temporary nor a changed target', async () => {
    const { writeFileAtomic, writeViaTemp } = await import('../src/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'semembed-atomic-'));
    const target = join(dir, 'out.txt');
    writeFileAtomic(target, [Buffer.from('one '), Buffer.from('two')]);
    expect(readFileSync(target, 'utf8')).toBe('one two');
    await expect(
      writeViaTemp(target, (tmp) => {
        writeFileSync(tmp, 'half');
        throw new Error('disk on fire');
      }),
    ).rejects.toThrow('disk on fire');
    expect(readFileSync(target, 'utf8')).toBe('one two');
    expect(readdirSync(dir)).toEqual(['out.txt']);
  });
});

// Keras 3 `.keras` archives: a real archive written by Keras 3.15.1 (fixtures/keras3/MANIFEST.md) converts and
// matches Keras's own outputs; broken archives (not a zip, entries missing, a layer's weights missing) are one line.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync, zipSync } from 'fflate';
import h5wasm from 'h5wasm/node';
import { describe, expect, it } from 'vitest';
import { readNpy } from '@semembed/formats';
import { convertKeras, ConverterError, readKerasArchive, type KerasWeight } from '../src/index.js';
import { checkOnnx, compare, hasOnnxChecker, runOnnx, tmp, toNchw } from './helpers.js';

const K3 = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'keras3');
const TINY = join(K3, 'tiny.keras');

type Group = InstanceType<typeof h5wasm.Group>;

/** Copies an HDF5 tree (groups, float datasets, string attributes) leaving out the groups at `drop`. */
function copyTree(src: Group, dst: Group, drop: string[], rename: Record<string, string> = {}): void {
  const attrs = src.attrs as Record<string, { value: unknown }>;
  for (const [k, a] of Object.entries(attrs)) dst.create_attribute(k, String(a.value));
  for (const k of src.keys()) {
    const node = src.get(k) as Group | InstanceType<typeof h5wasm.Dataset>;
    const path = `${src.path === '/' ? '' : src.path}/${k}`;
    if (drop.includes(path)) continue;
    if (node instanceof h5wasm.Dataset) {
      dst.create_dataset({ name: k, data: node.value as Float32Array, shape: node.shape ?? [], dtype: '<f' });
    } else copyTree(node as Group, dst.create_group(rename[k] ?? k), drop, rename);
  }
}

/** The fixture archive with some entries replaced or removed, and optionally weight groups left out. */
interface Edit {
  omit?: string[];
  dropGroups?: string[];
  rename?: Record<string, string>;
}

async function variant(dir: string, name: string, edit: Edit): Promise<string> {
  const entries = unzipSync(readFileSync(TINY));
  for (const e of edit.omit ?? []) delete entries[e];
  if (edit.dropGroups || edit.rename) {
    await h5wasm.ready;
    const inPath = join(dir, 'in.h5');
    const outPath = join(dir, 'out.h5');
    writeFileSync(inPath, entries['model.weights.h5']);
    const src = new h5wasm.File(inPath, 'r');
    const dst = new h5wasm.File(outPath, 'w');
    copyTree(src as unknown as Group, dst as unknown as Group, edit.dropGroups ?? [], edit.rename);
    src.close();
    dst.close();
    entries['model.weights.h5'] = readFileSync(outPath);
  }
  const path = join(dir, name);
  writeFileSync(path, zipSync(entries));
  return path;
}

async function refused(h5: string, dir: string): Promise<string> {
  const out = join(dir, 'bad.onnx');
  const err = await convertKeras({ h5, out }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConverterError);
  expect(existsSync(out)).toBe(false);
  const msg = (err as Error).message;
  expect(msg.split('\n')).toHaveLength(1);
  return msg;
}

describe('Keras 3 .keras archives', () => {
  it('reads config.json, metadata.json and the positional vars of model.weights.h5 by layer name', async () => {
    const k = await readKerasArchive(TINY);
    expect(k.kerasVersion).toBe('3.15.1');
    expect(k.weights.get('stem')?.map((w) => [w.name, w.shape])).toEqual([
      ['stem/kernel:0', [3, 3, 3, 8]],
      ['stem/bias:0', [8]],
    ]);
    expect(k.weights.get('dw')?.map((w) => w.name)).toEqual(['dw/depthwise_kernel:0', 'dw/bias:0']);
    // center=False: no beta, so vars/1 is the moving mean
    expect(k.weights.get('dw_bn')?.map((w) => w.name)).toEqual([
      'dw_bn/gamma:0',
      'dw_bn/moving_mean:0',
      'dw_bn/moving_variance:0',
    ]);
    expect(k.weights.get('tower')?.map((w) => w.name)).toEqual([
      'tower/pw/kernel:0',
      'tower/pw/bias:0',
      'tower/pw_bn/gamma:0',
      'tower/pw_bn/beta:0',
      'tower/pw_bn/moving_mean:0',
      'tower/pw_bn/moving_variance:0',
      'tower/down/kernel:0',
    ]);
  });

  it("reads tf.keras 2.13-2.15's _layer_checkpoint_dependencies in place of layers", async () => {
    const dir = tmp();
    const old = await variant(dir, 'old.keras', { rename: { layers: '_layer_checkpoint_dependencies' } });
    const k = await readKerasArchive(old);
    const want = await readKerasArchive(TINY);
    expect([...k.weights.keys()]).toEqual([...want.weights.keys()]);
    for (const [name, ws] of want.weights) {
      const flat = (xs: KerasWeight[] | undefined) => xs?.map((w) => [w.name, Array.from(w.data)]);
      expect(flat(k.weights.get(name))).toEqual(flat(ws));
    }
    expect(want.weights.get('tower')?.length).toBe(7);
  });

  it('converts tiny.keras and matches the outputs Keras computed itself to 1e-5 relative', async () => {
    const dir = tmp();
    const x = readNpy(join(K3, 'tiny.input.npy'));
    const want = { embed: readNpy(join(K3, 'tiny.embed.npy')), prob: readNpy(join(K3, 'tiny.prob.npy')) };
    for (const [file, layout] of [
      [TINY, 'nhwc'],
      [join(dir, 'renamed.h5'), 'nchw'],
    ] as const) {
      if (file !== TINY) copyFileSync(TINY, file); // told by its zip signature, not its extension
      const out = join(dir, `${layout}.onnx`);
      const r = await convertKeras({ h5: file, out, inputLayout: layout });
      expect(r.sidecar.source?.keras_version).toBe('3.15.1');
      if (hasOnnxChecker()) checkOnnx(out);
      const [n, h, w, c] = x.shape;
      const nhwc = Float32Array.from(x.data as ArrayLike<number>);
      const data = layout === 'nchw' ? toNchw(nhwc, x.shape) : nhwc;
      const shape = layout === 'nchw' ? [n, c, h, w] : [n, h, w, c];
      const got = await runOnnx(out, { [r.sidecar.input.name]: { data, shape } });
      for (const [name, ref] of Object.entries(want)) {
        const o = got[name];
        expect(o.dims).toEqual(ref.shape);
        const { maxAbs, scale } = compare(o.data, ref.data as ArrayLike<number>);
        expect(maxAbs / scale, `${layout} ${name}`).toBeLessThanOrEqual(1e-5);
      }
    }
  });

  it('converts LSTM, GRU, LayerNormalization, SeparableConv2D, PReLU, Conv2DTranspose to 1e-5 of Keras', async () => {
    const dir = tmp();
    for (const name of ['seq', 'sep']) {
      const out = join(dir, `${name}.onnx`);
      const r = await convertKeras({ h5: join(K3, `${name}.keras`), out });
      if (hasOnnxChecker()) checkOnnx(out);
      const x = readNpy(join(K3, `${name}.input.npy`));
      const ref = readNpy(join(K3, `${name}.output.npy`));
      const data = Float32Array.from(x.data as ArrayLike<number>);
      const got = await runOnnx(out, { [r.sidecar.input.name]: { data, shape: x.shape } });
      const o = got[r.sidecar.outputs[0].name];
      expect(o.dims).toEqual(ref.shape);
      const { maxAbs, scale } = compare(o.data, ref.data as ArrayLike<number>);
      expect(maxAbs / scale, name).toBeLessThanOrEqual(1e-5);
    }
  });

  it('refuses broken archives with one line naming the file (and the layer), writing nothing', async () => {
    const dir = tmp();
    const notZip = join(dir, 'text.keras');
    writeFileSync(notZip, 'not a zip at all');
    expect(await refused(notZip, dir)).toMatch(/text\.keras: not a Keras 3 \.keras archive \(no zip signature\)/);
    const cut = join(dir, 'cut.keras');
    writeFileSync(cut, readFileSync(TINY).subarray(0, 20000));
    expect(await refused(cut, dir)).toMatch(/cut\.keras: damaged zip archive/);
    const noCfg = await variant(dir, 'nocfg.keras', { omit: ['config.json'] });
    expect(await refused(noCfg, dir)).toMatch(/nocfg\.keras: the \.keras archive has no config\.json/);
    const noW = await variant(dir, 'now.keras', { omit: ['model.weights.h5'] });
    expect(await refused(noW, dir)).toMatch(/now\.keras: the \.keras archive has no model\.weights\.h5/);
    const noProb = await variant(dir, 'noprob.keras', { dropGroups: ['/layers/dense_1'] });
    const probMsg = await refused(noProb, dir);
    expect(probMsg).toMatch(/noprob\.keras: layer 'prob' \(Dense\): its weights are missing from model\.weights\.h5/);
    expect(probMsg).toMatch(/\(expected layers\/dense_1\/vars with kernel, bias\)$/);
    const noDown = await variant(dir, 'nodown.keras', { dropGroups: ['/layers/sequential/layers/conv2d_1'] });
    const downMsg = await refused(noDown, dir);
    expect(downMsg).toMatch(/nodown\.keras: layer 'tower\/down' \(Conv2D\): its weights are missing/);
  });
});

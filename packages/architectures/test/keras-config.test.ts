// Our Keras-config machinery against real Keras files (configs extracted from .h5 files, see fixtures MANIFEST).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  buildArchitecture,
  kerasLayerOrder,
  modelFromKerasConfig,
  toKerasJson,
  toSnakeCase,
  weightsFromKerasNames,
  type KerasLayerConfig,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
interface Fixture {
  keras_version: string;
  model_config: {
    class_name: string;
    config: { layers: KerasLayerConfig[]; output_layers: [string, number, number][] } | KerasLayerConfig[];
  };
  weight_names: Record<string, string[]>;
}
const fixture = (name: string): Fixture =>
  JSON.parse(readFileSync(join(here, 'fixtures', 'keras-configs', `${name}.json`), 'utf8')) as Fixture;
const layersOf = (f: Fixture): KerasLayerConfig[] =>
  Array.isArray(f.model_config.config) ? f.model_config.config : f.model_config.config.layers;

describe('Keras naming', () => {
  it('auto-name prefixes follow Keras _to_snake_case, quirks included', () => {
    expect(toSnakeCase('Conv2D')).toBe('conv2d');
    expect(toSnakeCase('BatchNormalization')).toBe('batch_normalization');
    expect(toSnakeCase('GlobalAveragePooling2D')).toBe('global_average_pooling2d');
    expect(toSnakeCase('ZeroPadding2D')).toBe('zero_padding2d');
    expect(toSnakeCase('ChannelPadding')).toBe('channel_padding');
    // Keras names PReLU layers p_re_lu_N (visible in many saved models).
    expect(toSnakeCase('PReLU')).toBe('p_re_lu');
  });
});

describe('kerasLayerOrder reproduces the layer order Keras saved', () => {
  for (const name of ['dl4j__deepfm', 'dl4j__12net', 'dl4j__lambda__model_lambda']) {
    it(name, () => {
      const f = fixture(name);
      const cfg = f.model_config.config as { layers: KerasLayerConfig[]; output_layers: [string, number, number][] };
      const byName = new Map(cfg.layers.map((l) => [l.name, l]));
      const order = kerasLayerOrder(
        (l) => byName.get(l)!.inbound_nodes.map((node) => node.map((r): [string, number] => [r[0], r[1]])),
        cfg.output_layers.map((o): [string, number] => [o[0], o[1]]),
      );
      expect(order).toEqual(cfg.layers.map((l) => l.name));
    });
  }
});

describe('layer configs have the keys and defaults Keras 2.x writes', () => {
  // One built model that contains every class our architectures use.
  const ours = new Map<string, KerasLayerConfig[]>();
  for (const arch of ['resnet-50', 'resnet-110-fc', 'simple']) {
    for (const l of buildArchitecture(arch, { embeddingDim: 10, numClasses: 3, clsWeight: 1, inputShape: [32, 32, 3] })
      .config.layers) {
      if (!ours.has(l.class_name)) ours.set(l.class_name, []);
      ours.get(l.class_name)!.push(l);
    }
  }
  const theirs = new Map<string, { layer: KerasLayerConfig; version: string }>();
  for (const name of [
    'dl4j__12net',
    'dl4j__cnn_batch_norm',
    'dl4j__dcgan_discriminator',
    'dl4j__lambda__model_lambda',
  ]) {
    const f = fixture(name);
    for (const l of layersOf(f))
      if (!theirs.has(l.class_name)) theirs.set(l.class_name, { layer: l, version: f.keras_version });
  }
  const keys = (c: Record<string, unknown>) =>
    Object.keys(c)
      .filter((k) => k !== 'batch_input_shape' && k !== 'dtype')
      .sort();

  for (const cls of [
    'InputLayer',
    'Conv2D',
    'MaxPooling2D',
    'BatchNormalization',
    'Activation',
    'Dense',
    'ZeroPadding2D',
    'Lambda',
  ]) {
    it(cls, () => {
      const t = theirs.get(cls);
      const o = ours.get(cls);
      expect(t, `fixture has ${cls}`).toBeDefined();
      expect(o, `our models have ${cls}`).toBeDefined();
      for (const l of o!) {
        expect(keys(l.config)).toEqual(keys(t!.layer.config));
        expect(l.config.name).toBe(l.name);
      }
    });
  }

  it('defaults equal the real files where the reference keeps Keras defaults', () => {
    const conv = theirs.get('Conv2D')!.layer.config; // 12net: Keras 2.2.0, default initialisers, no regulariser
    const res50conv = ours.get('Conv2D')!.find((l) => l.name === 'res2a_branch2a')!.config;
    const simpleConv = ours.get('Conv2D')!.find((l) => l.name === 'conv2')!.config;
    expect(simpleConv.kernel_initializer).toEqual(conv.kernel_initializer);
    expect(simpleConv.bias_initializer).toEqual(conv.bias_initializer);
    expect(simpleConv.dilation_rate).toEqual(conv.dilation_rate);
    expect(res50conv.kernel_regularizer).toBeNull();

    const bn = theirs.get('BatchNormalization')!.layer.config; // default BatchNormalization()
    const clsBn = ours.get('BatchNormalization')!.find((l) => l.name.startsWith('batch_normalization_'))!.config;
    expect({ ...clsBn, name: bn.name }).toEqual(bn);

    const dense = theirs.get('Dense')!.layer.config;
    const emb = ours.get('Dense')!.find((l) => l.name === 'embedding' && l.config.kernel_regularizer === null);
    expect(emb).toBeDefined();
    expect({ ...emb!.config, name: dense.name, units: dense.units }).toEqual(dense);
  });

  it('regularisers are stored as Keras stores float32 factors', () => {
    const conv0 = ours.get('Conv2D')!.find((l) => l.name === 'conv0')!.config;
    // 2e-4 and 5e-4 as float32, printed as Python floats.
    expect(JSON.stringify(conv0.kernel_regularizer)).toBe(
      '{"class_name":"L1L2","config":{"l1":0,"l2":0.00019999999494757503}}',
    );
    const prob = ours.get('Dense')!.find((l) => l.name === 'prob')!.config;
    expect(JSON.stringify(prob.kernel_regularizer)).toBe(
      '{"class_name":"L1L2","config":{"l1":0,"l2":0.0005000000237487257}}',
    );
  });

  it('toKerasJson adds the version keys model.to_json() writes', () => {
    const cfg = buildArchitecture('fashion-cnn', { embeddingDim: 4 });
    const j = JSON.parse(toKerasJson(cfg)) as Record<string, unknown>;
    expect(j.keras_version).toBe('2.2.4');
    expect(j.backend).toBe('tensorflow');
    expect(j.config).toEqual(cfg.config);
  });
});

describe('weight names are the ones Keras writes into .h5 files', () => {
  it('Conv2D / BatchNormalization / Dense weights, in Keras order', async () => {
    const f = fixture('dl4j__cnn_batch_norm');
    const shortNames = (cls: string) => {
      const layer = layersOf(f).find((l) => l.class_name === cls)!;
      // Old Sequential configs keep the name only inside config.
      return f.weight_names[layer.name ?? (layer.config.name as string)]!.map((w) => w.slice(w.lastIndexOf('/') + 1));
    };
    const model = await modelFromKerasConfig(
      tf,
      buildArchitecture('fashion-cnn', { embeddingDim: 5, numClasses: 3, clsWeight: 1 }),
    );
    const ws = weightsFromKerasNames(model);
    for (const cls of ['Conv2D', 'BatchNormalization', 'Dense']) {
      const ours = ws.filter((l) => l.className === cls);
      expect(ours.length).toBeGreaterThan(0);
      for (const l of ours) {
        expect(l.weights.map((w) => w.name)).toEqual(shortNames(cls).map((s) => `${l.layer}/${s}`));
      }
    }
    // Layers without weights are listed too, as in layer_names.
    expect(ws.find((l) => l.layer === 'mp2')!.weights).toEqual([]);
    expect(ws.map((l) => l.layer)).toEqual(model.layers.map((l) => l.name));
    model.dispose();
  });
});

describe('modelFromKerasConfig on configs Keras wrote', () => {
  it('Sequential (list form, Keras 2.1.3) and functional (Keras 2.2.0, two outputs, dynamic H/W)', async () => {
    const seq = await modelFromKerasConfig(tf, fixture('dl4j__cnn_batch_norm').model_config);
    expect(seq.inputs[0]!.shape).toEqual([null, 10, 10, 3]);
    expect(seq.outputs[0]!.shape).toEqual([null, 1]);
    // 3*3*3*1+1 + 4 + 3*3*1*1+1 + 36+1, as the fixture dump counts: 79
    expect(seq.countParams()).toBe(79);
    seq.dispose();
    const dcgan = await modelFromKerasConfig(tf, fixture('dl4j__dcgan_discriminator').model_config);
    expect(dcgan.outputs[0]!.shape).toEqual([null, 1]);
    dcgan.dispose();
    const pnet = await modelFromKerasConfig(tf, fixture('dl4j__12net').model_config);
    expect(pnet.outputNames).toEqual(['conv4-1', 'conv4-2']);
    expect(pnet.inputs[0]!.shape).toEqual([null, null, null, 3]);
    const ys = pnet.predict(tf.zeros([1, 12, 12, 3])) as tf.Tensor[];
    expect(ys.map((y) => y.shape)).toEqual([
      [1, 1, 1, 2],
      [1, 1, 1, 4],
    ]);
    pnet.dispose();
  });

  it('Lambdas holding Python bytecode fail with the layer name unless mapped', async () => {
    const cfg = fixture('dl4j__lambda__model_lambda').model_config;
    await expect(modelFromKerasConfig(tf, cfg)).rejects.toThrow(/Lambda layer 'lambda_\d+' holds Python code/);
    const lambdas = Object.fromEntries(
      layersOf(fixture('dl4j__lambda__model_lambda'))
        .filter((l) => l.class_name === 'Lambda')
        .map((l) => [l.name, 'identity' as const]),
    );
    const m = await modelFromKerasConfig(tf, cfg, { lambdas });
    expect(m.outputs[0]!.shape).toEqual([null, 10]);
    m.dispose();
  });
});

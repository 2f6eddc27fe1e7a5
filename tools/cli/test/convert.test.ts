import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { ROOT, semembed } from './run.js';

// The converter's copies of the real Keras fixtures (packages/converter/test/fixtures/keras-h5/MANIFEST.md).
const FIX = join(ROOT, 'packages', 'converter', 'test', 'fixtures', 'keras-h5');
// The Keras file other packages' tests read too lives once, in @semembed/test-fixtures.
const BATCH_NORM_H5 = fixturePath('keras-h5/dl4j__cnn_batch_norm.h5');
const dir = mkdtempSync(join(tmpdir(), 'cli-convert-'));

describe('semembed convert', () => {
  it('converts a full Keras model and writes the sidecar', () => {
    const out = join(dir, 'bn.onnx');
    const r = semembed(['convert', BATCH_NORM_H5, out, '--input_layout', 'nchw', '--opset', '13']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Wrote .*bn\.onnx \(opset 13, input conv2d_1_input NCHW Nx3x10x10, outputs dense_1 \(logits, 1\), 1 BatchNormalization folded\) and .*bn\.json\n$/,
    );
    const side = JSON.parse(readFileSync(join(dir, 'bn.json'), 'utf8'));
    expect(side.input).toEqual({
      name: 'conv2d_1_input',
      layout: 'NCHW',
      shape: [null, 3, 10, 10],
      dtype: 'float32',
      channels: 3,
    });
    expect(readFileSync(out).length).toBeGreaterThan(100);
  });

  it('weights-only file with --config', () => {
    const out = join(dir, 'mlp.onnx');
    const m = join(FIX, 'dl4j__mnist_mlp_tf_keras_2');
    const r = semembed([
      'convert',
      join(m, 'mnist_mlp_tf_keras_2_weights.h5'),
      out,
      '--config',
      join(m, 'mnist_mlp_tf_keras_2_config.json'),
      '--fp16',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/outputs dense_3 \(probabilities, 10\)/);
    expect(JSON.parse(readFileSync(join(dir, 'mlp.json'), 'utf8')).source.fp16_weights).toBe(true);
  });

  it('Lambda layers: read from their code, or --lambda maps them; a bad --lambda is one line before any work', () => {
    const d = mkdtempSync(join(tmpdir(), 'cli-lambda-'));
    const out = join(d, 'lam.onnx');
    // The same Sequential with two Lambda layers, converted to the same file each time; only the flags change.
    const convertLambda = (...flags: string[]) =>
      semembed(['convert', join(FIX, 'dl4j__lambda__sequential_lambda.h5'), out, ...flags]);
    const bad = convertLambda('--lambda', 'lambda_1=expr:x +');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('semembed: --lambda lambda_1=expr:x +: unexpected end of expression\n');
    expect(readdirSync(d)).toEqual([]);
    const fromCode = convertLambda();
    expect(fromCode.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    rmSync(out);
    rmSync(join(d, 'lam.json'));
    const ok = convertLambda('--lambda', 'lambda_1=square', '--lambda', 'lambda_2=scale:3');
    expect(ok.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    const badFlag = convertLambda('--lambda', 'lambda_1');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toBe('semembed: --lambda lambda_1: expected NAME=KIND, e.g. --lambda l2norm=l2norm\n');
  });

  it('--verify prints the per-layer table against TF.js and --verify_json writes it', () => {
    const d = mkdtempSync(join(tmpdir(), 'cli-verify-'));
    const res = semembed(['convert', BATCH_NORM_H5, join(d, 'm.onnx'), '--verify', '--verify_json', join(d, 'v.json')]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^batch_normalization_1 +BatchNormalization +\[2, 8, 8, 1\]/m);
    expect(res.stdout).toMatch(/all 5 layer outputs match TensorFlow\.js within 0\.0001 relative/);
    const rep = JSON.parse(readFileSync(join(d, 'v.json'), 'utf8'));
    expect(rep.format).toBe('semembed-verify/1');
    expect(rep.layers.map((l: { layer: string }) => l.layer)).toEqual([
      'batch_normalization_1',
      'activation_1',
      'conv2d_2',
      'flatten_1',
      'dense_1',
    ]);
  });

  it('negative fixtures fail with their messages and no output', () => {
    const d = mkdtempSync(join(tmpdir(), 'cli-neg-'));
    const cases: [string, RegExp][] = [
      ['dl4j__keras1_cnn_tf_model.h5', /written by Keras 1\.1\.2; Keras 1 files are not supported/],
      [
        'kerasnet__unbuilt_model.h5',
        /input 'flatten_input' has no input shape: the model was saved before it was built/,
      ],
      ['dl4j__keras-attention.h5', /layer 'attention' \(Attention\): layer class Attention is not supported/],
      [
        'dl4j__mnist_mlp_tf_keras_2/mnist_mlp_tf_keras_2_weights.h5',
        /weights-only file .*--architecture NAME or --config model\.json/,
      ],
    ];
    for (const [f, re] of cases) {
      const r = semembed(['convert', join(FIX, f), join(d, 'x.onnx')]);
      expect(r.code, f).toBe(1);
      expect(r.stderr).toMatch(/^semembed: /);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(readdirSync(d)).toEqual([]);
  });
});

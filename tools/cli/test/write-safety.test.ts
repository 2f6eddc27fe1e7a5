import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { writeNpy } from '@semembed/formats';
import { ROOT, semembed } from './run.js';

// Nothing the user gave is lost: an output that is an input is refused, an existing output needs --force, a folder
// where a file goes (and the reverse) is one line; all before any work. Bad input is one line, never a stack trace.
const FIX = join(ROOT, 'packages', 'converter', 'test', 'fixtures', 'keras-h5');
// The Keras file other packages' tests read too lives once, in @semembed/test-fixtures.
const BATCH_NORM_H5 = fixturePath('keras-h5/dl4j__cnn_batch_norm.h5');
const TAX = join(ROOT, 'hierarchies', 'Cifar-Hierarchy', 'cifar.parent-child.txt');
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const oneLine = (r: { code: number | null; stderr: string }, code = 1) => {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^semembed: /);
  expect(r.stderr).not.toMatch(/\n\s+at |HDF5-DIAG|internal error/);
};

describe('convert never replaces what it reads', () => {
  it('refuses an output equal to the input, also spelled differently, and leaves the input as it was', () => {
    const d = mkdtempSync(join(tmpdir(), 'ws-same-'));
    const h5 = join(d, 'm.h5');
    copyFileSync(BATCH_NORM_H5, h5);
    const before = sha(h5);
    for (const out of [h5, join(d, '.', 'sub', '..', 'm.h5')]) {
      const r = semembed(['convert', h5, out]);
      oneLine(r);
      expect(r.stderr).toMatch(
        /output .*m\.h5 is the same file as input .*m\.h5: refusing to overwrite what the command reads/,
      );
    }
    expect(sha(h5)).toBe(before);
    expect(readdirSync(d)).toEqual(['m.h5']);
  });

  it("the README's `convert weights.h5 model.onnx --config model.json` keeps the config (the sidecar would replace it)", () => {
    const d = mkdtempSync(join(tmpdir(), 'ws-config-'));
    const m = join(FIX, 'dl4j__mnist_mlp_tf_keras_2');
    copyFileSync(join(m, 'mnist_mlp_tf_keras_2_config.json'), join(d, 'model.json'));
    const before = sha(join(d, 'model.json'));
    const r = semembed([
      'convert',
      join(m, 'mnist_mlp_tf_keras_2_weights.h5'),
      join(d, 'model.onnx'),
      '--config',
      join(d, 'model.json'),
    ]);
    oneLine(r);
    expect(r.stderr).toMatch(/the sidecar .*model\.json is the same file as --config .*model\.json/);
    expect(sha(join(d, 'model.json'))).toBe(before);
    expect(readdirSync(d)).toEqual(['model.json']);
    // Named apart, it converts; a second run needs --force, and then both files are replaced as a pair.
    const ok = semembed([
      'convert',
      join(m, 'mnist_mlp_tf_keras_2_weights.h5'),
      join(d, 'mlp.onnx'),
      '--config',
      join(d, 'model.json'),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const again = semembed([
      'convert',
      join(m, 'mnist_mlp_tf_keras_2_weights.h5'),
      join(d, 'mlp.onnx'),
      '--config',
      join(d, 'model.json'),
    ]);
    oneLine(again);
    expect(again.stderr).toMatch(/output .*mlp\.onnx exists; pass --force to replace it/);
    const forced = semembed([
      'convert',
      join(m, 'mnist_mlp_tf_keras_2_weights.h5'),
      join(d, 'mlp.onnx'),
      '--config',
      join(d, 'model.json'),
      '--fp16',
      '--force',
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    const side = JSON.parse(readFileSync(join(d, 'mlp.json'), 'utf8'));
    expect(side.source.fp16_weights).toBe(true);
    expect(side.source.onnx_sha256).toBe(sha(join(d, 'mlp.onnx')));
    expect(sha(join(d, 'model.json'))).toBe(before);
  });

  it('import --from model.h5 keeps a Keras model.json beside it', () => {
    const d = mkdtempSync(join(tmpdir(), 'ws-import-'));
    copyFileSync(BATCH_NORM_H5, join(d, 'model.h5'));
    writeFileSync(join(d, 'model.json'), '{"class_name": "Sequential"}');
    const r = semembed(['import', '--from', join(d, 'model.h5'), '--no-verify']);
    oneLine(r);
    expect(r.stderr).toMatch(/the sidecar .*model\.json exists; pass --force to replace it/);
    expect(readFileSync(join(d, 'model.json'), 'utf8')).toBe('{"class_name": "Sequential"}');
    expect(readdirSync(d).sort()).toEqual(['model.h5', 'model.json']);
  });

  it('a folder where a file is expected, an output under a file, a damaged .h5: one line each', () => {
    const d = mkdtempSync(join(tmpdir(), 'ws-folder-'));
    mkdirSync(join(d, 'dir.onnx'));
    writeFileSync(join(d, 'plain'), 'x');
    const h5 = BATCH_NORM_H5;
    const cases: [string[], RegExp][] = [
      [['convert', h5, join(d, 'dir.onnx')], /output .*dir\.onnx: is a folder, expected a file/],
      [['convert', d, join(d, 'x.onnx')], /input .*: is a folder, expected a file/],
      [['convert', h5, join(d, 'plain', 'x.onnx')], /output .*plain\/x\.onnx: .*plain is a file, not a folder/],
    ];
    for (const [args, re] of cases) {
      const r = semembed(args);
      oneLine(r);
      expect(r.stderr).toMatch(re);
    }
    // Damaged in the middle (not truncated): HDF5's own 58-line diagnostics stay silent.
    const bytes = readFileSync(h5);
    bytes.fill(0xab, 800, 6000);
    writeFileSync(join(d, 'damaged.h5'), bytes);
    const r = semembed(['convert', join(d, 'damaged.h5'), join(d, 'out.onnx')]);
    oneLine(r);
    expect(r.stderr).toMatch(/damaged\.h5: cannot read .*the file may be damaged or truncated/);
  });
});

describe('every command that writes', () => {
  it('compute-class-embedding: --out existing needs --force; --out equal to --hierarchy is refused', () => {
    const d = mkdtempSync(join(tmpdir(), 'ws-cce-'));
    const out = join(d, 'e.json');
    expect(semembed(['compute-class-embedding', '--hierarchy', TAX, '--out', out]).code).toBe(0);
    const before = sha(out);
    const r = semembed(['compute-class-embedding', '--hierarchy', TAX, '--out', out, '--method', 'mds']);
    oneLine(r);
    expect(r.stderr).toMatch(/--out .*e\.json exists; pass --force to replace it/);
    expect(sha(out)).toBe(before);
    expect(
      semembed(['compute-class-embedding', '--hierarchy', TAX, '--out', out, '--method', 'mds', '--force']).code,
    ).toBe(0);
    expect(sha(out)).not.toBe(before);
    const tax = join(d, 'tax.txt');
    copyFileSync(TAX, tax);
    const same = semembed(['compute-class-embedding', '--hierarchy', tax, '--out', tax, '--force']);
    oneLine(same);
    expect(same.stderr).toMatch(/is the same file as --hierarchy/);
    expect(sha(tax)).toBe(sha(TAX));
  });

  it('an unwritable --out (as root too: /sys, /proc) is one line before any work', () => {
    for (const [out, why] of [
      ['/sys/e.json', /--out \/sys\/e\.json: cannot write into \/sys \(permission denied\)/],
      ['/proc/e.json', /--out \/proc\/e\.json: cannot write into \/proc/],
    ] as const) {
      const r = semembed(['compute-class-embedding', '--hierarchy', TAX, '--out', out]);
      oneLine(r);
      expect(r.stderr).toMatch(why);
      expect(r.stdout).toBe('');
    }
  });

  it('a 150k-class taxonomy: says up front that n² memory is needed and how much', () => {
    const d = mkdtempSync(join(tmpdir(), 'ws-big-'));
    const lines = Array.from({ length: 150_000 }, (_, i) => `0 ${i + 1}`);
    writeFileSync(join(d, 'big.txt'), lines.join('\n') + '\n');
    const t0 = Date.now();
    const r = semembed(['compute-class-embedding', '--hierarchy', join(d, 'big.txt'), '--out', join(d, 'e.json')]);
    oneLine(r);
    expect(r.stderr).toMatch(
      /150000 classes: the unitsphere method needs dense n×n float64 matrices, n² memory: about 3 × 150000² × 8 bytes = 503 GB/,
    );
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(readdirSync(d)).toEqual(['big.txt']);
  });

  it('control characters from an input file are escaped in the message', () => {
    const d = mkdtempSync(join(tmpdir(), 'ws-ctl-'));
    writeFileSync(join(d, 'tax.txt'), '1 2\n\x1b[31mred\x07 3\n');
    const r = semembed(['compute-class-embedding', '--hierarchy', join(d, 'tax.txt'), '--out', join(d, 'e.json')]);
    oneLine(r);
    expect(r.stderr).toContain('\\x1b[31mred\\x07');
    // eslint-disable-next-line no-control-regex
    expect(r.stderr.trimEnd()).not.toMatch(/[\x00-\x1f\x7f]/);
  });

  it('evaluate-retrieval, index build, web-site: existing outputs refused before any work', () => {
    const d = mkdtempSync(join(tmpdir(), 'ws-eval-'));
    const feat = join(ROOT, 'tools', 'cli', 'test', 'fixtures', 'c_ties.feat.pickle');
    const labels = join(ROOT, 'tools', 'cli', 'test', 'fixtures', 'c_ties.labels.txt');
    writeFileSync(join(d, 'm.json'), 'keep');
    const evaluate = (...extra: string[]) =>
      semembed(['evaluate-retrieval', '--hierarchy', TAX, '--feat', feat, '--labels', labels, ...extra]);
    const e = evaluate('--json', join(d, 'm.json'));
    oneLine(e);
    expect(e.stderr).toMatch(/--json .*m\.json exists; pass --force/);
    const same = evaluate('--csv', feat);
    oneLine(same);
    expect(same.stderr).toMatch(/--csv .* is the same file as --feat/);
    writeFileSync(join(d, 'g.index'), 'keep');
    const ix = semembed(['index', 'build', '--features', feat, '--out', join(d, 'g.index')]);
    oneLine(ix);
    expect(ix.stderr).toMatch(/--out .*g\.index exists; pass --force/);
    mkdirSync(join(d, 'site'));
    writeFileSync(join(d, 'site', 'index.html'), 'mine');
    const ws = semembed(['web-site', '--model', join(d, 'missing.json'), '--out', join(d, 'site')]);
    oneLine(ws);
    expect(ws.stderr).toMatch(/--out .*site exists and is not empty; pass --force/);
    expect(readFileSync(join(d, 'm.json'), 'utf8')).toBe('keep');
    expect(readFileSync(join(d, 'site', 'index.html'), 'utf8')).toBe('mine');
  });

  it('web-site refuses galleries with NaN rows or the wrong width, as serve does', () => {
    const d = mkdtempSync(join(tmpdir(), 'ws-site-'));
    const model = fixturePath('models/fashion-tiny.json');
    const nan = new Float32Array(3 * 12).fill(0.5);
    nan[12 + 4] = NaN;
    writeNpy(join(d, 'nan.npy'), { dtype: 'float32', shape: [3, 12], data: nan });
    writeNpy(join(d, 'wide.npy'), { dtype: 'float32', shape: [2, 7], data: new Float32Array(14) });
    const a = semembed(['web-site', '--model', model, '--gallery', join(d, 'nan.npy'), '--out', join(d, 'site')]);
    oneLine(a);
    expect(a.stderr).toMatch(/--gallery .*nan\.npy: row 1 has a non-finite value \(NaN\)/);
    const b = semembed(['web-site', '--model', model, '--gallery', join(d, 'wide.npy'), '--out', join(d, 'site')]);
    oneLine(b);
    expect(b.stderr).toMatch(/--gallery .*wide\.npy has 7-dimensional features, the model's embedding 12/);
    expect(readdirSync(d).sort()).toEqual(['nan.npy', 'wide.npy']);
  });

  it('serve --port 70000 is one line (exit 2), before any model loads', () => {
    const r = semembed(['serve', '--model', join(ROOT, 'missing.onnx'), '--port', '70000']);
    oneLine(r, 2);
    expect(r.stderr).toMatch(/--port/);
  });
});

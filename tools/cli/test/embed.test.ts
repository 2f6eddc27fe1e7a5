import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { readNpy } from '@semembed/formats';
import { semembed } from './run.js';

// The shared tiny test models and images (@semembed/test-fixtures).
const FIX = fixturePath('models');
const MODEL = join(FIX, 'fashion-tiny.onnx');
const ref = JSON.parse(readFileSync(join(FIX, 'fashion-tiny.reference.json'), 'utf8'));
/** `semembed embed --model <the tiny Fashion-MNIST model> ...args` */
const embed = (...args: string[]) => semembed(['embed', '--model', MODEL, ...args]);
const dir = mkdtempSync(join(tmpdir(), 'embed-cli-'));

function classFolders(): string {
  const ds = join(dir, 'ds');
  for (const [cls, files] of [
    ['Sandal', ['a.png', 'b.png']],
    ['Coat', ['c.png']],
  ] as const) {
    mkdirSync(join(ds, cls), { recursive: true });
    for (const f of files) copyFileSync(join(FIX, 'gray28.png'), join(ds, cls, f));
  }
  return ds;
}

describe('semembed embed', () => {
  it('embeds a class-folder dataset: features .npy, ids and labels beside, probabilities on request', () => {
    const ds = classFolders();
    const out = join(dir, 'feat.npy');
    const r = embed(
      '--input',
      ds,
      '--out',
      out,
      '--prob_out',
      join(dir, 'prob.npy'),
      '--ep',
      'cpu',
      '--batch_size',
      '2',
    );
    expect(r.stderr).toMatch(/execution provider: cpu/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        String.raw`^Wrote 3 x 12 features to .*feat\.npy, ids to .*feat\.ids\.txt, labels \(2 classes\) to ` +
          String.raw`.*feat\.labels\.txt, probabilities to .*prob\.npy in [\d.]+ s on cpu\.\n$`,
      ),
    );
    const feats = readNpy(out);
    expect(feats.dtype).toBe('float32');
    expect(feats.shape).toEqual([3, 12]);
    // Same image three times: every row equals the numpy reference embedding.
    for (let i = 0; i < 3; i++) {
      const row = Array.from(feats.data as Float32Array).slice(i * 12, (i + 1) * 12);
      row.forEach((v, j) => expect(v).toBeCloseTo(ref['gray28.png'].l2norm[j], 5));
    }
    expect(readFileSync(join(dir, 'feat.ids.txt'), 'utf8')).toBe('Coat/c.png\nSandal/a.png\nSandal/b.png\n');
    expect(readFileSync(join(dir, 'feat.labels.txt'), 'utf8')).toBe('Coat\nSandal\nSandal\n');
    const prob = readNpy(join(dir, 'prob.npy'));
    expect(prob.shape).toEqual([3, 10]);
    expect(
      Array.from(prob.data as Float32Array)
        .slice(0, 10)
        .reduce((a, b) => a + b, 0),
    ).toBeCloseTo(1, 5);
  }, 120_000);

  it('embeds listed files without labels', () => {
    const out = join(dir, 'files.npy');
    const r = embed(
      '--input',
      join(FIX, 'gray28.png'),
      join(FIX, 'rgb32.png'),
      '--out',
      out,
      '--ep',
      'cpu',
      '--no_progress',
    );
    expect(r.code).toBe(0);
    expect(readNpy(out).shape).toEqual([2, 12]);
    expect(existsSync(join(dir, 'files.labels.txt'))).toBe(false);
  }, 120_000);

  it('leaves no output file when an image is corrupt, and says which one', () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad, { recursive: true });
    copyFileSync(join(FIX, 'gray28.png'), join(bad, 'ok.png'));
    writeFileSync(join(bad, 'zz.png'), readFileSync(join(FIX, 'gray28.png')).subarray(0, 60));
    const out = join(dir, 'bad.npy');
    const r = embed('--input', bad, '--out', out, '--ep', 'cpu');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/semembed: .*zz\.png: corrupt png image/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it('one-line errors for a missing model, input or bad flags', () => {
    const out = join(dir, 'none.npy');
    expect(semembed(['embed', '--model', join(dir, 'none.onnx'), '--input', FIX, '--out', out]).stderr).toMatch(
      /^semembed: model not found: .*none\.onnx\n$/,
    );
    expect(embed('--input', join(dir, 'nothing'), '--out', out).stderr).toMatch(
      /^semembed: --input .*nothing: no such file or folder\n$/,
    );
    expect(embed('--input', FIX, '--out', join(dir, 'x.csv')).stderr).toMatch(/--out .*x\.csv: must end in \.npy/);
  }, 120_000);

  it('says why no execution provider could run', () => {
    const out = join(dir, 'none.npy');
    expect(embed('--input', FIX, '--out', out, '--ep', 'tpu').stderr).toMatch(/unknown execution provider "tpu"/);
    const nocuda = embed('--input', FIX, '--out', out, '--ep', 'cuda');
    expect(nocuda.code).toBe(1);
    expect(nocuda.stderr).toMatch(/semembed: no execution provider could run .*cuda: .*libonnxruntime_providers/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});

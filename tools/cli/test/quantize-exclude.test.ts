import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { semembed } from './run.js';

// `semembed quantize --nodes_to_exclude`: onnxruntime's flag name; fashion-tiny's unnamed nodes are `OpType#index`.

const FIX = fixturePath('models');

describe('semembed quantize --nodes_to_exclude', () => {
  it('space- and comma-separated names are kept float (recorded in the sidecar); an unknown one exits before the data is read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'semembed-quantize-exclude-'));
    for (const f of ['fashion-tiny.onnx', 'fashion-tiny.json']) copyFileSync(join(FIX, f), join(dir, f));
    const args = ['quantize', join(dir, 'fashion-tiny.onnx')];
    const ok = semembed([
      ...args,
      join(dir, 'ex.onnx'),
      ...['--mode', 'int8', '--dataset', 'FashionMNIST', '--calibration_size', '32'],
      ...['--nodes_to_exclude', 'Conv#4', 'Gemm#8,Gemm#14'],
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const q = JSON.parse(readFileSync(join(dir, 'ex.json'), 'utf8')).quantization;
    expect(q.nodesToExclude).toEqual(['Conv#4', 'Gemm#8', 'Gemm#14']);
    expect(q.skipped).toEqual(expect.arrayContaining(['Conv#4: --nodes_to_exclude', 'Gemm#8: --nodes_to_exclude']));

    // The dataset folder does not exist: the node names are checked first, so the error is about them.
    const bad = semembed([
      ...args,
      join(dir, 'bad.onnx'),
      ...['--mode', 'int8', '--dataset', 'FashionMNIST', '--data_root', join(dir, 'no-such-folder')],
      ...['--nodes_to_exclude', 'conv3_conv/Conv'],
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^semembed: --nodes_to_exclude: no node named 'conv3_conv\/Conv' in .*fashion-tiny\.onnx \(its nodes: Transpose#0, Conv#1,/,
    );
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(dir, 'bad.onnx'))).toBe(false);
    expect(existsSync(join(dir, 'bad.json'))).toBe(false);
  });
});

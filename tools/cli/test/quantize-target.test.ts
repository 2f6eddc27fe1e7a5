import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { semembed } from './run.js';

// `semembed quantize --target`: the int8 graph form, web (the default: fastest on wasm and onnxruntime-node) or cpu.

const FIX = fixturePath('models'); // the tiny test models other packages' tests read too (@semembed/test-fixtures)

describe('semembed quantize --target', () => {
  it('no --target writes the web form with 7-bit weights (recorded in the sidecar); --target cpu the cpu form; a bad target exits 2 before any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'semembed-quantize-target-'));
    for (const f of ['fashion-tiny.onnx', 'fashion-tiny.json']) copyFileSync(join(FIX, f), join(dir, f));
    const out = join(dir, 'web.onnx');
    const args = ['quantize', join(dir, 'fashion-tiny.onnx'), out, '--mode', 'int8', '--dataset', 'FashionMNIST'];
    const r = semembed([...args, '--calibration_size', '32']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Wrote .*web\.onnx \(int8, [0-9.]+ KiB\) and .*web\.json\n$/);
    const sc = JSON.parse(readFileSync(join(dir, 'web.json'), 'utf8'));
    expect(sc.quantization).toMatchObject({ mode: 'int8', target: 'web', reduceRange: true, calibrationSamples: 32 });
    // fashion-tiny's first conv has depth 9: kept float in the web form.
    expect(sc.quantization.skipped).toEqual(['Conv#1: kept float for the web target']);

    const cpu = semembed([
      ...args.slice(0, 2),
      join(dir, 'cpu.onnx'),
      ...args.slice(3),
      '--target',
      'cpu',
      '--calibration_size',
      '32',
      '--no-reduce_range',
    ]);
    expect(cpu.stderr).toBe('');
    expect(cpu.code).toBe(0);
    const cs = JSON.parse(readFileSync(join(dir, 'cpu.json'), 'utf8'));
    // The cpu form quantises every conv, the depth-9 first one too.
    expect(cs.quantization).toMatchObject({ mode: 'int8', target: 'cpu', reduceRange: false, skipped: [] });

    const bad = semembed([...args.slice(0, 2), join(dir, 'bad.onnx'), ...args.slice(3), '--target', 'gpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Invalid values:\s+Argument: target, Given: "gpu", Choices: "cpu", "web"/);
    expect(existsSync(join(dir, 'bad.onnx'))).toBe(false);
  });
});

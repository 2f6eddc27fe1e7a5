import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { semembed } from './run.js';

// `semembed quantize --target web`: the int8 form for onnxruntime-web, chosen on the command line.

const FIX = fixturePath('models'); // the tiny test models other packages' tests read too (@semembed/test-fixtures)

describe('semembed quantize --target', () => {
  it('--target web writes the web form (recorded in the sidecar); a bad target exits 2 before any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'semembed-quantize-target-'));
    for (const f of ['fashion-tiny.onnx', 'fashion-tiny.json']) copyFileSync(join(FIX, f), join(dir, f));
    const out = join(dir, 'web.onnx');
    const args = ['quantize', join(dir, 'fashion-tiny.onnx'), out, '--mode', 'int8', '--dataset', 'FashionMNIST'];
    const r = semembed([...args, '--target', 'web', '--calibration_size', '32']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Wrote .*web\.onnx \(int8, [0-9.]+ KiB\) and .*web\.json\n$/);
    const sc = JSON.parse(readFileSync(join(dir, 'web.json'), 'utf8'));
    expect(sc.quantization).toMatchObject({ mode: 'int8', target: 'web', calibrationSamples: 32 });
    // fashion-tiny's first conv has depth 9: kept float in the web form.
    expect(sc.quantization.skipped).toEqual(['Conv#1: kept float for the web target']);

    const bad = semembed([...args.slice(0, 2), join(dir, 'bad.onnx'), ...args.slice(3), '--target', 'gpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Invalid values:\s+Argument: target, Given: "gpu", Choices: "cpu", "web"/);
    expect(existsSync(join(dir, 'bad.onnx'))).toBe(false);
  });
});

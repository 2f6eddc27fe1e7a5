import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { loadModel } from '@semembed/runtime-node';
import { makeSite } from '@semembed/runtime-web/site';
import { buildSiteVariants } from '../src/pipeline/site-variants.js';

// The main job's page step: int8 (onnxruntime-web form) and fp16 variants of the trained model, calibrated on a
// small training slice, handed to the site so the page can pick one per device.

const FIX = fixturePath('models'); // the tiny test models other packages' tests read too (@semembed/test-fixtures)

describe("the pipeline's site variants", () => {
  it('writes int8 (target web) and fp16 beside the model; the site lists them; runtime-node runs each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'semembed-site-variants-'));
    for (const f of ['fashion-tiny.onnx', 'fashion-tiny.json']) copyFileSync(join(FIX, f), join(dir, f));
    const lines: string[] = [];
    const variants = await buildSiteVariants(
      join(dir, 'fashion-tiny.onnx'),
      join(dir, 'fashion-tiny.json'),
      'FashionMNIST',
      undefined,
      (l) => lines.push(l),
    );
    expect(Object.keys(variants)).toEqual(['int8', 'fp16']);
    expect(variants.int8).toBe(join(dir, 'model.int8.json'));
    const int8 = JSON.parse(readFileSync(variants.int8, 'utf8'));
    expect(int8.precision).toBe('int8');
    expect(int8.quantization).toMatchObject({ target: 'web', calibrationSamples: 64, from: 'fashion-tiny.onnx' });
    expect(JSON.parse(readFileSync(variants.fp16, 'utf8')).precision).toBe('fp16');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/int8 variant: .*model\.int8\.onnx \(\d+ KiB\)$/);

    const site = join(dir, 'site');
    makeSite({ model: join(dir, 'fashion-tiny.json'), out: site, variants });
    const config = JSON.parse(readFileSync(join(site, 'config.json'), 'utf8'));
    expect(Object.keys(config.variants).sort()).toEqual(['fp16', 'fp32', 'int8']);

    const img = readFileSync(join(FIX, 'gray28.png'));
    const embed = async (sidecar: string) => {
      const m = await loadModel(sidecar, { ep: 'cpu', warmup: false });
      try {
        return Array.from((await m.embedImages([img]))[0].embedding);
      } finally {
        await m.release();
      }
    };
    const ref = await embed(join(dir, 'fashion-tiny.json'));
    for (const [name, bound] of [
      ['int8', 0.06],
      ['fp16', 2e-3],
    ] as const) {
      const got = await embed(join(site, config.variants[name]));
      const d = Math.max(...got.map((v, i) => Math.abs(v - ref[i])));
      expect(d, name).toBeLessThanOrEqual(bound);
      expect(d, name).toBeGreaterThan(0); // really the variant, not the fp32 file
    }
  });
});

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '@semembed/formats';
import { parseGallery } from '@semembed/runtime-web';
import { fixturePath } from '@semembed/test-fixtures';
import { semembed, startServe, WEB_PAGE as WEB } from './helpers.js';

const SIDECAR = fixturePath('models/fashion-tiny.json');

function gallery(dir: string, rows: number, dim: number) {
  const data = Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(i));
  const features = join(dir, 'feat.npy');
  writeNpy(features, { dtype: 'float32', shape: [rows, dim], data });
  writeFileSync(join(dir, 'feat.labels.txt'), Array.from({ length: rows }, (_, i) => String(i % 10)).join('\n') + '\n');
  const idx = Buffer.alloc(16 + rows * 4);
  idx.set([0, 0, 8, 3]);
  idx.writeUInt32BE(rows, 4);
  idx.writeUInt32BE(2, 8);
  idx.writeUInt32BE(2, 12);
  for (let i = 0; i < rows * 4; i++) idx[16 + i] = i % 251;
  writeFileSync(join(dir, 'thumbs.idx'), idx);
  return { features, data };
}

describe('semembed web-site', () => {
  // The page is built by @semembed/runtime-web's build (turbo builds it before these tests): missing is a failure.
  it('the built page exists', () => {
    expect(existsSync(join(WEB, 'index.html')), `${WEB}/index.html (npm run build -w @semembed/runtime-web)`).toBe(
      true,
    );
  });

  it('writes page + ORT wasm + model + gallery + config, and semembed serve --web_root serves them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-web-'));
    const { features, data } = gallery(dir, 20, 12);
    const out = join(dir, 'site');
    const r = semembed([
      'web-site',
      '--model',
      SIDECAR,
      '--gallery',
      features,
      '--thumbs_idx',
      join(dir, 'thumbs.idx'),
      '--out',
      out,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/gallery 20 x 12/);
    for (const f of [
      'index.html',
      'ort/ort-wasm-simd-threaded.jsep.wasm',
      'ort/ort-wasm-simd-threaded.jsep.mjs',
      'models/default/fashion-tiny.onnx',
    ])
      expect(existsSync(join(out, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toEqual({
      model: 'models/default/model.json',
      gallery: 'models/default/gallery.bin',
      variants: { fp32: 'models/default/model.json' },
    });
    expect(JSON.parse(readFileSync(join(out, 'models/default/model.json'), 'utf8')).model).toBe('fashion-tiny.onnx');
    const g = parseGallery(readFileSync(join(out, 'models/default/gallery.bin')));
    expect([g.size, g.dim]).toEqual([20, 12]);
    expect(Array.from(g.features)).toEqual(Array.from(data));
    expect(g.header.labels?.[13]).toBe('3');
    expect(g.thumbnailRGBA(1)!.data[0]).toBe(4);

    const server = startServe(['--ep', 'cpu', '--model', join(out, 'models/default/model.json'), '--web_root', out]);
    try {
      const url = await server.url;
      const page = await fetch(url + '/');
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/semantic image search/);
      // application/wasm matters: browsers compile streaming only with it.
      const wasm = await fetch(url + '/ort/ort-wasm-simd-threaded.jsep.wasm', { method: 'HEAD' });
      expect(wasm.headers.get('content-type')).toBe('application/wasm');
    } finally {
      server.child.kill('SIGTERM');
    }
  });

  it('bad input: one line naming the flag and the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-web-'));
    const { features } = gallery(dir, 20, 12);
    let r = semembed(['web-site', '--model', join(dir, 'nope.json'), '--out', join(dir, 's')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`semembed: --model ${join(dir, 'nope.json')}: no such file or folder`);
    writeFileSync(join(dir, 'feat.labels.txt'), 'a\nb\n');
    r = semembed(['web-site', '--model', SIDECAR, '--gallery', features, '--out', join(dir, 's')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`semembed: ${join(dir, 'feat.labels.txt')}: 2 labels, but the features have 20 rows`);
    r = semembed(['web-site', '--model', SIDECAR, '--thumbs_idx', join(dir, 'thumbs.idx'), '--out', join(dir, 's')]);
    expect(r.code).toBe(2); // a bad command line: rejected by the flag checks, before any work
    expect(r.stderr.trim()).toBe('semembed: --thumbs_idx / --images_list need --gallery');
    expect(existsSync(join(dir, 's'))).toBe(false); // nothing half-written
  });
});

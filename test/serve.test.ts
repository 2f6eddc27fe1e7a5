import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { semembed, startServe } from './helpers.js';

const fixture = (name: string) => fixturePath(`models/${name}`);

describe('semembed serve', () => {
  it('serves several models on loopback and stops cleanly on SIGTERM after in-flight requests', async () => {
    const s = startServe([
      '--model',
      `fashion=${fixture('fashion-tiny.onnx')}`,
      '--model',
      `rgb=${fixture('rgb-nchw.json')}`,
      '--ep',
      'cpu',
      '--max_queue_delay_ms',
      '200',
    ]);
    const url = await s.url;
    expect(new URL(url).hostname).toBe('127.0.0.1');
    const png = readFileSync(fixture('gray28.png'));
    const ref = JSON.parse(readFileSync(fixture('fashion-tiny.reference.json'), 'utf8'))['gray28.png'];
    const models = (await (await fetch(url + '/v1/models')).json()) as { models: { name: string }[] };
    expect(models.models.map((m) => m.name)).toEqual(['fashion', 'rgb']);
    // This request waits ~200 ms in the batch queue; SIGTERM arrives meanwhile and must not cut it off.
    const inflight = fetch(url + '/v1/classify?model=fashion', {
      method: 'POST',
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    await new Promise((r) => setTimeout(r, 50));
    s.child.kill('SIGTERM');
    const r = await inflight;
    expect(r.status).toBe(200);
    const body = (await r.json()) as { results: { nearest: { index: number }[] }[] };
    expect(body.results[0].nearest.map((c) => c.index)).toEqual(ref.nearestByEmbedding.slice(0, 5));
    expect(await s.exited).toBe(0);
    expect(s.stderr()).toMatch(/SIGTERM, finishing in-flight requests/);
    expect(s.stderr()).toMatch(/fashion: execution provider: cpu/);
  }, 120_000);

  it('refuses bad flags with one line', () => {
    const m = fixture('fashion-tiny.onnx');
    const zero = semembed(['serve', '--model', m, '--max_batch_size', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toBe("semembed: --max_batch_size must be an integer >= 1, got '0'\n");
    const two = semembed([
      'serve',
      '--model',
      m,
      '--model',
      `b=${fixture('rgb-nchw.json')}`,
      '--gallery',
      'x.npy',
      '--ep',
      'cpu',
    ]);
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/--gallery x\.npy: name the model/);
    const missing = semembed([
      'serve',
      '--model',
      m,
      '--gallery',
      join(tmpdir(), 'semembed-e2e-none.npy'),
      '--ep',
      'cpu',
      '--port',
      '0',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/semembed: --gallery .*none\.npy: no such file/);
    expect(
      semembed(['serve', '--model', m, '--web_root', join(tmpdir(), 'semembed-e2e-nope'), '--ep', 'cpu', '--port', '0'])
        .stderr,
    ).toMatch(/--web_root .*nope: not a folder/);
  }, 120_000);
});

import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { pino } from 'pino';
import { writeNpy } from '@semembed/formats';
import { buildIndex, saveIndex } from '@semembed/retrieval';
import { ExactGallery, createServer, loadGallery, loadModel, type Model, type SemembedServer } from '../src/index.js';
import { fixture, localFixture, maxAbsDiff, readJson, tinyServer } from './helpers.js';

const fashionRef = readJson('fashion-tiny.reference.json');
const rgbRef = readJson('rgb-nchw.reference.json');
const png = readFileSync(fixture('gray28.png'));
const rgbPng = readFileSync(fixture('rgb32.png'));

/** Log lines the server wrote (pino JSON), to check that 500s are logged with their id. */
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk, _enc, cb) {
    logLines.push(...String(chunk).split('\n').filter(Boolean));
    cb();
  },
});

let server: SemembedServer;
let url: string;
let tmp: string;
let galleryImages: Buffer[];
let ref: Model;

async function variant(i: number): Promise<Buffer> {
  // Different but related gray images: the test image shifted and brightened.
  return sharp(png)
    .affine([1, 0, 0, 1], { idx: i, idy: -i, background: '#000' })
    .linear(1, i * 10)
    .resize(28, 28)
    .png()
    .toBuffer();
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semembed-server-'));
  ref = await loadModel(fixture('fashion-tiny.onnx'), { ep: 'cpu' });
  galleryImages = [png, ...(await Promise.all([1, 2, 3, 4, 5].map(variant)))];
  const feats = await ref.embedImages(galleryImages);
  const data = new Float32Array(feats.length * 12);
  feats.forEach((f, i) => data.set(f.embedding, i * 12));
  writeNpy(join(tmp, 'gallery.npy'), { dtype: 'float32', shape: [feats.length, 12], data });
  writeFileSync(join(tmp, 'gallery.ids.txt'), galleryImages.map((_, i) => `img${i}.png`).join('\n') + '\n');
  writeFileSync(
    join(tmp, 'gallery.labels.txt'),
    galleryImages.map((_, i) => (i % 2 ? 'Sandal' : 'Coat')).join('\n') + '\n',
  );
  // The same gallery as a FAISS index file (as `semembed index build` writes it), labels in its sidecar.
  const { index, meta } = buildIndex(data, 12, { factory: 'Flat', normalize: true });
  saveIndex(
    index,
    { ...meta, labels: galleryImages.map((_, i) => (i % 2 ? 'Sandal' : 'Coat')) },
    join(tmp, 'gallery.index'),
  );
  writeFileSync(join(tmp, 'index.html'), '<!doctype html><title>semembed demo</title>');
  server = await createServer({
    models: [
      { path: fixture('fashion-tiny.onnx'), gallery: join(tmp, 'gallery.npy') },
      { path: fixture('rgb-nchw.json'), name: 'rgb' },
      { path: localFixture('gather-fault.onnx') },
      { path: fixture('fashion-tiny.onnx'), name: 'indexed', gallery: join(tmp, 'gallery.index') },
    ],
    port: 0,
    ep: 'cpu',
    maxBatchSize: 16,
    maxQueueDelayMs: 5,
    bodyLimit: 256 * 1024,
    maxImageBytes: 64 * 1024,
    maxImagePixels: 512 * 512,
    maxImagesPerRequest: 8,
    webRoot: tmp,
    logger: pino({ level: 'info' }, logStream),
  });
  url = await server.listen();
});

afterAll(async () => {
  await server?.close();
  await ref?.release();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const post = (path: string, body: RequestInit['body'], type?: string) =>
  fetch(url + path, { method: 'POST', body, headers: type ? { 'content-type': type } : {} });
const postJson = (path: string, body: unknown) => post(path, JSON.stringify(body), 'application/json');

describe('server basics', () => {
  it('binds to 127.0.0.1 by default', () => {
    expect(new URL(url).hostname).toBe('127.0.0.1');
  });

  it('serves the web root at / next to the API', async () => {
    const r = await fetch(url + '/');
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('semembed demo');
    expect((await fetch(url + '/v2/health/live')).status).toBe(200);
  });

  it('lists the models with their provider', async () => {
    const r = (await (await fetch(url + '/v1/models')).json()) as any;
    expect(r.models.map((m: { name: string }) => m.name)).toEqual(['fashion-tiny', 'rgb', 'gather-fault', 'indexed']);
    expect(r.models[0].executionProvider).toBe('cpu');
    // FAISS through @semembed/retrieval when it loads (it does here); the JS exact search otherwise.
    expect(r.models[0].gallery).toEqual({ size: 6, engine: 'faiss' });
    expect(r.models[3].gallery).toEqual({ size: 6, engine: 'faiss' });
  });
});

describe('galleries', () => {
  it('FAISS (flat inner product) and the exact JS search agree on a features file', async () => {
    const files = { features: join(tmp, 'gallery.npy') };
    const faiss = await loadGallery(files);
    const exact = ExactGallery.load(files);
    expect(faiss.engine).toBe('faiss');
    for (let q = 0; q < galleryImages.length; q++) {
      const query = exact.features.slice(q * 12, (q + 1) * 12);
      const a = faiss.search(query, 4);
      const b = exact.search(query, 4);
      expect(a.map((m) => m.index)).toEqual(b.map((m) => m.index));
      expect(a.map((m) => m.label)).toEqual(b.map((m) => m.label));
      a.forEach((m, i) => expect(m.similarity).toBeCloseTo(b[i].similarity, 5));
    }
  });
});

describe('/v1 routes', () => {
  it('embeds a raw PNG body like the numpy reference', async () => {
    const r = await post('/v1/embed', png, 'image/png');
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.model).toBe('fashion-tiny');
    expect(body.dim).toBe(12);
    expect(maxAbsDiff(body.embeddings[0], fashionRef['gray28.png'].l2norm)).toBeLessThan(2e-5);
  });

  it('embeds several base64 images (JSON, data URLs too) and several multipart files', async () => {
    const imgs = galleryImages.slice(0, 4);
    const want = await ref.embedImages(imgs);
    const j = await postJson('/v1/embed', {
      images: imgs.map((b, i) => (i === 1 ? `data:image/png;base64,${b.toString('base64')}` : b.toString('base64'))),
    });
    expect(j.status).toBe(200);
    const jb = (await j.json()) as any;
    expect(jb.embeddings).toHaveLength(4);
    jb.embeddings.forEach((e: number[], i: number) => expect(maxAbsDiff(e, want[i].embedding)).toBeLessThan(1e-6));
    const fd = new FormData();
    imgs.forEach((b, i) => fd.append(`file${i}`, new Blob([b], { type: 'image/png' }), `g${i}.png`));
    const m = await post('/v1/embed', fd);
    expect(m.status).toBe(200);
    const mb = (await m.json()) as any;
    mb.embeddings.forEach((e: number[], i: number) => expect(maxAbsDiff(e, want[i].embedding)).toBeLessThan(1e-6));
  });

  it('chooses the model by ?model= or the JSON field', async () => {
    const a = (await (await post('/v1/embed?model=rgb', rgbPng, 'image/png')).json()) as any;
    expect(a.model).toBe('rgb');
    expect(maxAbsDiff(a.embeddings[0], rgbRef['rgb32.png'].l2norm)).toBeLessThan(2e-5);
    const b = (await (await postJson('/v1/embed', { model: 'rgb', image: rgbPng.toString('base64') })).json()) as any;
    expect(maxAbsDiff(b.embeddings[0], a.embeddings[0])).toBe(0);
  });

  it('classifies: top-k probabilities and nearest classes with taxonomy paths', async () => {
    const r = (await (await post('/v1/classify?top_k=3', png, 'image/png')).json()) as any;
    const res = r.results[0];
    const probs: number[] = fashionRef['gray28.png'].prob;
    const order = probs
      .map((p, i) => [p, i])
      .sort((a, b) => b[0] - a[0])
      .map((x) => x[1]);
    expect(res.classes.map((c: { index: number }) => c.index)).toEqual(order.slice(0, 3));
    expect(res.classes[0].probability).toBeCloseTo(probs[order[0]], 5);
    expect(res.classes[0].path.at(-1)).toBe(res.classes[0].name);
    expect(res.nearest.map((c: { index: number }) => c.index)).toEqual(
      fashionRef['gray28.png'].nearestByEmbedding.slice(0, 3),
    );
    const rgb = (await (await post('/v1/classify?model=rgb', rgbPng, 'image/png')).json()) as any;
    expect(rgb.results[0].classes).toBeUndefined(); // no prob output
    expect(rgb.results[0].nearest[0].path).toEqual(
      readJson('rgb-nchw.json').classes[rgbRef['rgb32.png'].nearestByEmbedding[0]].path,
    );
  });

  it('searches the gallery: ranks by inner product, with ids and labels', async () => {
    const query = galleryImages[3];
    const r = (await (await post('/v1/search?top_k=6', query, 'image/png')).json()) as any;
    const matches = r.results[0].matches;
    expect(matches[0]).toMatchObject({ rank: 1, index: 3, id: 'img3.png', label: 'Sandal' });
    expect(matches[0].similarity).toBeCloseTo(1, 5);
    // Independent ranking in float64 from the model's own embeddings.
    const embs = (await ref.embedImages(galleryImages)).map((x) => x.embedding);
    const q = embs[3];
    const sims = embs.map((e) => e.reduce((s, v, j) => s + v * q[j], 0));
    const order = sims
      .map((s, i) => [s, i])
      .sort((a, b) => b[0] - a[0])
      .map((x) => x[1]);
    expect(matches.map((m: { index: number }) => m.index)).toEqual(order);
    // The index-file gallery gives the same ranking and labels (from the index sidecar).
    const viaIndex = (await (await post('/v1/search?model=indexed&top_k=6', query, 'image/png')).json()) as any;
    expect(viaIndex.results[0].matches.map((m: { index: number }) => m.index)).toEqual(order);
    expect(viaIndex.results[0].matches[0].label).toBe('Sandal');
    viaIndex.results[0].matches.forEach((m: { similarity: number }, i: number) =>
      expect(m.similarity).toBeCloseTo(matches[i].similarity, 5),
    );
    const noGallery = await post('/v1/search?model=rgb', rgbPng, 'image/png');
    expect(noGallery.status).toBe(404);
    expect(((await noGallery.json()) as any).error).toMatch(/no gallery/);
  });
});

describe('Open Inference Protocol v2', () => {
  it('health, readiness and model metadata', async () => {
    expect((await (await fetch(url + '/v2/health/live')).json()) as any).toEqual({ live: true });
    expect((await (await fetch(url + '/v2/health/ready')).json()) as any).toEqual({ ready: true });
    expect((await (await fetch(url + '/v2/models/rgb/ready')).json()) as any).toEqual({ name: 'rgb', ready: true });
    const meta = (await (await fetch(url + '/v2/models/fashion-tiny')).json()) as any;
    expect(meta.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 28, 28, 1] }]);
    expect(meta.outputs.map((o: { name: string }) => o.name).sort()).toEqual(['l2norm', 'prob']);
    const missing = await fetch(url + '/v2/models/nope');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error).toMatch(/unknown model "nope"/);
    expect((await fetch(url + '/v2/models/nope/ready')).status).toBe(404);
  });

  it('infers a tensor batch like the numpy reference', async () => {
    const { input, shape, l2norm, prob } = fashionRef.random;
    const r = await postJson('/v2/models/fashion-tiny/infer', {
      id: 'q1',
      inputs: [{ name: 'input', shape, datatype: 'FP32', data: input }],
      outputs: [{ name: 'prob' }, { name: 'l2norm' }],
    });
    expect(r.status).toBe(200);
    const b = (await r.json()) as any;
    expect(b.id).toBe('q1');
    expect(b.outputs.map((o: { name: string }) => o.name)).toEqual(['prob', 'l2norm']);
    expect(b.outputs[0].shape).toEqual([3, 10]);
    expect(maxAbsDiff(b.outputs[0].data, prob.flat())).toBeLessThan(2e-5);
    expect(maxAbsDiff(b.outputs[1].data, l2norm.flat())).toBeLessThan(2e-5);
  });

  it('accepts the binary tensor extension (JSON header + raw FP32) with the same result', async () => {
    const { input, shape, l2norm } = fashionRef.random;
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'input', shape, datatype: 'FP32', parameters: { binary_data_size: input.length * 4 } }],
        outputs: [{ name: 'l2norm' }],
      }),
    );
    const body = Buffer.concat([header, Buffer.from(Float32Array.from(input).buffer)]);
    const send = (b: Buffer, len: number | undefined) =>
      fetch(url + '/v2/models/fashion-tiny/infer', {
        method: 'POST',
        body: b,
        headers: {
          'content-type': 'application/octet-stream',
          ...(len !== undefined && { 'inference-header-content-length': String(len) }),
        },
      });
    const r = await send(body, header.length);
    expect(r.status).toBe(200);
    const b = (await r.json()) as any;
    expect(b.outputs[0].name).toBe('l2norm');
    expect(maxAbsDiff(b.outputs[0].data, l2norm.flat())).toBeLessThan(2e-5);
    const noHeader = await send(body, undefined);
    expect(noHeader.status).toBe(400);
    expect(((await noHeader.json()) as any).error).toMatch(/needs an Inference-Header-Content-Length header/);
    const short = await send(body.subarray(0, body.length - 4), header.length);
    expect(((await short.json()) as any).error).toMatch(
      /binary_data_size 9408 does not match the 9404 bytes after the header/,
    );
  });

  it('400 with the reason for wrong shapes, names, types and data', async () => {
    const cases: [unknown, RegExp][] = [
      [
        { inputs: [{ name: 'input', shape: [1, 28, 28], datatype: 'FP32', data: new Array(784).fill(0) }] },
        /shape \[1, 28, 28\] does not fit the model's input \[-1, 28, 28, 1\]/,
      ],
      [
        { inputs: [{ name: 'x', shape: [1, 28, 28, 1], datatype: 'FP32', data: new Array(784).fill(0) }] },
        /input is named "x", the model's input is "input"/,
      ],
      [
        { inputs: [{ name: 'input', shape: [1, 28, 28, 1], datatype: 'INT8', data: new Array(784).fill(0) }] },
        /datatype "INT8" is not supported/,
      ],
      [
        { inputs: [{ name: 'input', shape: [1, 28, 28, 1], datatype: 'FP32', data: new Array(783).fill(0) }] },
        /data has 783 values, shape \[1, 28, 28, 1\] needs 784/,
      ],
      [
        {
          inputs: [{ name: 'input', shape: [1, 28, 28, 1], datatype: 'FP32', data: [...new Array(783).fill(0), 'a'] }],
        },
        /data\[783\] is "a", not a finite number/,
      ],
      [
        {
          inputs: [{ name: 'input', shape: [1, 28, 28, 1], datatype: 'FP32', data: new Array(784).fill(0) }],
          outputs: [{ name: 'zzz' }],
        },
        /model has no output "zzz"/,
      ],
      [{ inputs: [] }, /exactly one tensor/],
    ];
    for (const [body, msg] of cases) {
      const r = await postJson('/v2/models/fashion-tiny/infer', body);
      expect(r.status).toBe(400);
      expect(((await r.json()) as any).error).toMatch(msg);
    }
  });
});

describe('limits and failures', () => {
  it('400 for corrupt or non-image uploads, with the reason and the part', async () => {
    const r = await post('/v1/embed', png.subarray(0, 120), 'image/png');
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error).toMatch(/request body: corrupt png image/);
    const fd = new FormData();
    fd.append('a', new Blob([png]), 'ok.png');
    fd.append('b', new Blob([Buffer.from('not an image at all')]), 'bad.jpg');
    const m = await post('/v1/embed', fd);
    expect(m.status).toBe(400);
    expect(((await m.json()) as any).error).toMatch(/file bad\.jpg: not a JPEG, PNG or WebP image/);
    const j = await postJson('/v1/embed', { images: ['%%%'] });
    expect(j.status).toBe(400);
    expect(((await j.json()) as any).error).toMatch(/images\[0\] is not valid base64/);
    const bad = await post('/v1/embed', '{"images": [', 'application/json');
    expect(bad.status).toBe(400);
    const none = await postJson('/v1/embed', { foo: 1 });
    expect(((await none.json()) as any).error).toMatch(/needs "image"/);
    const txt = await post('/v1/embed', 'hello', 'text/plain');
    expect(txt.status).toBe(415);
  });

  it('413 for oversized bodies, images, pixel counts and image counts', async () => {
    const big = Buffer.alloc(300 * 1024, 1);
    expect((await post('/v1/embed', big, 'image/png')).status).toBe(413);
    const fd = new FormData();
    fd.append('a', new Blob([Buffer.alloc(100 * 1024, 1)]), 'big.png');
    const m = await post('/v1/embed', fd);
    expect(m.status).toBe(413);
    const huge = await sharp({ create: { width: 1000, height: 1000, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const h = await post('/v1/embed', huge, 'image/png');
    expect(h.status).toBe(413);
    expect(((await h.json()) as any).error).toMatch(/1000x1000 pixels, more than the limit of 262144/);
    const many = await postJson('/v1/embed', { images: new Array(9).fill(png.toString('base64')) });
    expect(many.status).toBe(413);
    expect(((await many.json()) as any).error).toMatch(/9 images in one request, the limit is 8/);
  });

  it('404 for unknown models and routes', async () => {
    const r = await post('/v1/embed?model=nope', png, 'image/png');
    expect(r.status).toBe(404);
    expect(((await r.json()) as any).error).toMatch(
      /unknown model "nope" \(served: fashion-tiny, rgb, gather-fault, indexed\)/,
    );
    expect((await fetch(url + '/v9/what')).status).toBe(404);
  });

  it('500 with an id that is in the log; other requests in the same batch and later ones succeed', async () => {
    const infer = (v: number) =>
      postJson('/v2/models/gather-fault/infer', {
        inputs: [{ name: 'input', shape: [1, 1, 1, 1], datatype: 'FP32', data: [v] }],
      });
    const [a, bad, c] = await Promise.all([infer(1), infer(9), infer(3)]);
    expect(bad.status).toBe(500);
    const body = (await bad.json()) as any;
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.reqId === body.id && l.level === 50);
    expect(logged?.err?.message).toMatch(/indices element out of data bounds/);
    expect(a.status).toBe(200);
    expect(((await a.json()) as any).outputs[0].data).toEqual([3, 4, 5]);
    expect(((await c.json()) as any).outputs[0].data).toEqual([9, 10, 11]);
    expect((await post('/v1/embed', png, 'image/png')).status).toBe(200);
  });

  it('exports Prometheus metrics: requests, latency, batch sizes, queue depth', async () => {
    const before = await (await fetch(url + '/metrics')).text();
    const count = (text: string) =>
      Number(/semembed_batch_size_count\{model="fashion-tiny"\} (\d+)/.exec(text)?.[1] ?? 0);
    const { input } = fashionRef.random;
    const one = input.slice(0, 784);
    const rs = await Promise.all(
      Array.from({ length: 12 }, () =>
        postJson('/v2/models/fashion-tiny/infer', {
          inputs: [{ name: 'input', shape: [1, 28, 28, 1], datatype: 'FP32', data: one }],
        }),
      ),
    );
    expect(rs.every((r) => r.status === 200)).toBe(true);
    const after = await (await fetch(url + '/metrics')).text();
    // 12 concurrent requests within the 5 ms window are batched: fewer batches than requests.
    expect(count(after) - count(before)).toBeLessThan(12);
    expect(after).toMatch(
      /semembed_http_requests_total\{method="POST",route="\/v2\/models\/:name\/infer",status="200"\} \d+/,
    );
    expect(after).toMatch(
      /semembed_http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/v1\/embed"\} \d+/,
    );
    expect(after).toMatch(/semembed_queue_depth\{model="fashion-tiny"\} 0/);
    expect(after).toMatch(/semembed_inference_errors_total\{model="gather-fault"\} [1-9]/);
  });
});

describe('timeouts and shutdown', () => {
  it('answers 503 when inference does not start within the request timeout', async () => {
    const s = await createServer({
      models: [ref],
      port: 0,
      maxQueueDelayMs: 400,
      requestTimeoutMs: 100,
      logger: 'silent',
    });
    const u = await s.listen();
    try {
      const r = await fetch(u + '/v1/embed', { method: 'POST', body: png, headers: { 'content-type': 'image/png' } });
      expect(r.status).toBe(503);
      expect(((await r.json()) as any).error).toMatch(/did not finish within 100 ms/);
    } finally {
      await s.close();
    }
  });

  it('finishes in-flight requests on close, then refuses connections', async () => {
    const s = await tinyServer({ maxQueueDelayMs: 300 });
    const u = await s.listen();
    const inflight = fetch(u + '/v1/embed', { method: 'POST', body: png, headers: { 'content-type': 'image/png' } });
    await new Promise((r) => setTimeout(r, 60)); // the request is now waiting in the batch queue
    const closed = s.close();
    const r = await inflight;
    expect(r.status).toBe(200);
    expect(maxAbsDiff(((await r.json()) as any).embeddings[0], fashionRef['gray28.png'].l2norm)).toBeLessThan(2e-5);
    await closed;
    await expect(fetch(u + '/v2/health/live')).rejects.toThrow();
    // The preloaded model `ref` given to the other server is not released by it; this server's own model is.
    expect(s.models.get('fashion-tiny')).toBeDefined();
  });
});

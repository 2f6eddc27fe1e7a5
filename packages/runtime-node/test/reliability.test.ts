import { request } from 'node:http';
import { connect } from 'node:net';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '@semembed/formats';
import { createServer, type SemembedServer } from '../src/index.js';
import { fixture, maxAbsDiff, readJson, tinyServer } from './helpers.js';

// Limits and client errors on every route, the web root's boundaries, the v2 protocol's versioned routes and
// binary outputs, bounded shutdown. Real server on loopback; every loop is bounded.
const fashionRef = readJson('fashion-tiny.reference.json');
const png = readFileSync(fixture('gray28.png'));
let tmp: string;
let server: SemembedServer;
let url: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'semembed-reliability-'));
  // What `convert` makes of a plain classifier: a sidecar with a probabilities output only.
  const side = JSON.parse(readFileSync(fixture('fashion-tiny.json'), 'utf8'));
  side.outputs = side.outputs.filter((o: { kind: string }) => o.kind === 'probabilities');
  delete side.classEmbedding;
  copyFileSync(fixture('fashion-tiny.onnx'), join(tmp, 'classifier.onnx'));
  writeFileSync(join(tmp, 'classifier.json'), JSON.stringify({ ...side, model: 'classifier.onnx' }));
  writeNpy(join(tmp, 'empty.npy'), { dtype: 'float32', shape: [0, 12], data: new Float32Array(0) });
  // The web root: a page, a dotfile, a symlink out of the root and one that stays inside.
  const site = join(tmp, 'site');
  mkdirSync(join(site, 'assets'), { recursive: true });
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>page</title>');
  writeFileSync(join(site, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(site, '.env'), 'SECRET=1');
  mkdirSync(join(site, '.git'));
  writeFileSync(join(site, '.git', 'config'), '[core]');
  writeFileSync(join(tmp, 'outside.txt'), 'outside the root');
  symlinkSync('/etc', join(site, 'etc'));
  symlinkSync(join(tmp, 'outside.txt'), join(site, 'outside.txt'));
  symlinkSync(join(site, 'assets', 'app.js'), join(site, 'app-link.js'));
  server = await createServer({
    models: [
      { path: fixture('fashion-tiny.onnx'), name: 'fashion', gallery: join(tmp, 'empty.npy') },
      { path: join(tmp, 'classifier.onnx') },
    ],
    ep: 'cpu',
    port: 0,
    bodyLimit: 1024 * 1024,
    maxImageBytes: 768 * 1024,
    webRoot: site,
    logger: 'silent',
  });
  url = await server.listen();
});

afterAll(async () => {
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const post = (path: string, body: RequestInit['body'], type?: string) =>
  fetch(url + path, { method: 'POST', body, headers: type ? { 'content-type': type } : {} });
const error = async (r: Response): Promise<string> => ((await r.json()) as { error: string }).error;

/** A raw HTTP request whose body is sent in chunks (no content-length); resolves with status and the bytes sent. */
function chunkedUpload(
  path: string,
  headers: Record<string, string>,
  chunks: () => Buffer | undefined,
): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const u = new URL(url + path);
    const req = request(
      { host: u.hostname, port: u.port, path, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, sent }));
      },
    );
    req.on('error', reject);
    const pump = () => {
      for (;;) {
        const c = chunks();
        if (!c) return void req.end();
        sent += c.length;
        if (!req.write(c)) return void req.once('drain', pump);
      }
    };
    pump();
  });
}

describe('limits hold on every content type', () => {
  it('a multipart body over --body_limit_mb is refused with 413, also when every file is under the image limit', async () => {
    const fd = new FormData();
    for (let i = 0; i < 3; i++) fd.append(`f${i}`, new Blob([Buffer.alloc(600 * 1024, i)]), `f${i}.png`);
    const r = await post('/v1/embed', fd);
    expect(r.status).toBe(413);
    expect(await error(r)).toMatch(/request body is \d+ bytes, the limit is 1048576/);
  });

  it('a chunked multipart upload (no content-length) is cut at the limit, not read whole', async () => {
    const boundary = 'xbound';
    const head = Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="a"; filename="a.png"\r\ncontent-type: image/png\r\n\r\n`,
    );
    const piece = Buffer.alloc(64 * 1024, 3);
    let n = 0;
    const before = process.memoryUsage().rss;
    // Up to 64 MB offered; the server must answer long before that.
    const { status, sent } = await chunkedUpload(
      '/v1/embed',
      { 'content-type': `multipart/form-data; boundary=${boundary}` },
      () => (n++ === 0 ? head : n < 1024 ? piece : undefined),
    ).catch((e: NodeJS.ErrnoException) => ({
      status: e.code === 'EPIPE' || e.code === 'ECONNRESET' ? 413 : 0,
      sent: n * piece.length,
    }));
    expect(status).toBe(413);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * 1024 * 1024);
    expect((await post('/v1/embed?model=fashion', png, 'image/png')).status).toBe(200);
  });

  it('malformed multipart is a 400 naming the problem, never a 500', async () => {
    const truncated = `--b\r\ncontent-disposition: form-data; name="a"; filename="a.png"\r\n\r\n${'x'.repeat(100)}`;
    const r1 = await post('/v1/embed', truncated, 'multipart/form-data; boundary=b');
    expect(r1.status).toBe(400);
    expect(await error(r1)).toMatch(/malformed multipart\/form-data body/);
    const r2 = await post('/v1/embed', '--b\r\nno headers here\r\n\r\n--b--\r\n', 'multipart/form-data; boundary=b');
    expect(r2.status).toBeGreaterThanOrEqual(400);
    expect(r2.status).toBeLessThan(500);
    const r3 = await post('/v1/embed', 'whatever', 'multipart/form-data');
    expect(r3.status).toBeGreaterThanOrEqual(400);
    expect(r3.status).toBeLessThan(500);
  });
});

describe('client errors are 4xx', () => {
  it('a model without an embedding output classifies; /v1/embed and /v1/search say why they cannot (400)', async () => {
    const c = await post('/v1/classify?model=classifier', png, 'image/png');
    expect(c.status).toBe(200);
    const body = (await c.json()) as {
      results: { classes: { index: number; probability: number }[]; nearest?: unknown }[];
    };
    const probs = fashionRef['gray28.png'].prob as number[];
    const best = probs.indexOf(Math.max(...probs));
    expect(body.results[0].classes[0].index).toBe(best);
    expect(Math.abs(body.results[0].classes[0].probability - probs[best])).toBeLessThan(2e-5);
    expect(body.results[0].nearest).toBeUndefined();
    const e = await post('/v1/embed?model=classifier', png, 'image/png');
    expect(e.status).toBe(400);
    expect(await error(e)).toMatch(/model classifier has no embedding output \(its outputs: prob \(probabilities\)\)/);
    expect((await post('/v1/search?model=classifier', png, 'image/png')).status).toBe(400);
    // Readiness is honest: the model does answer what it can.
    expect((await fetch(url + '/v2/models/classifier/ready')).status).toBe(200);
  });

  it('/v1/search on an empty gallery is a 404 that says so', async () => {
    const r = await post('/v1/search?model=fashion', png, 'image/png');
    expect(r.status).toBe(404);
    expect(await error(r)).toMatch(/gallery of model fashion is empty/);
  });

  it('405 with Allow for a method the route does not take; 404 for no route', async () => {
    const r = await fetch(url + '/v1/embed', { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
    const g = await fetch(url + '/v2/models/fashion/infer');
    expect(g.status).toBe(405);
    expect(g.headers.get('allow')).toBe('POST');
    const m = await fetch(url + '/metrics', { method: 'PUT' });
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toMatch(/GET/);
    expect((await post('/v9/none', 'x', 'text/plain')).status).toBe(404);
  });

  it('a gallery with NaN rows is refused at start, naming the row', async () => {
    const data = new Float32Array(3 * 12).fill(0.1);
    data[2 * 12 + 5] = NaN;
    writeNpy(join(tmp, 'nan.npy'), { dtype: 'float32', shape: [3, 12], data });
    await expect(
      createServer({
        models: [{ path: fixture('fashion-tiny.onnx'), gallery: join(tmp, 'nan.npy') }],
        ep: 'cpu',
        port: 0,
        logger: 'silent',
        worker: false,
      }),
    ).rejects.toThrow(/nan\.npy: row 2 has a non-finite value \(NaN\)/);
  });

  it('--port outside 0..65535 is one clear error before anything loads', async () => {
    await expect(tinyServer({ port: 70000 })).rejects.toThrow(/--port 70000: a port is an integer from 0 to 65535/);
  });
});

describe('the web root', () => {
  it('serves the page cross-origin isolated (COOP/COEP), no dotfiles, no symlink out of the root', async () => {
    const page = await fetch(url + '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect((await fetch(url + '/assets/app.js')).status).toBe(200);
    expect(await (await fetch(url + '/app-link.js')).text()).toBe('console.log(1)');
    for (const p of [
      '/.env',
      '/.git/config',
      '/etc/passwd',
      '/etc/hostname',
      '/outside.txt',
      '/%2e%65nv',
      '/assets/../.env',
    ]) {
      const r = await fetch(url + p);
      expect(r.status, p).toBe(404);
      expect(await r.text(), p).not.toMatch(/SECRET|root:|outside the root|\[core\]/);
    }
  });
});

describe('Open Inference Protocol v2', () => {
  const one = (fashionRef.random.input as number[]).slice(0, 784);
  const tensor = { name: 'input', shape: [1, 28, 28, 1], datatype: 'FP32', data: one };

  it('lists the binary tensor extension; versioned metadata, ready and infer answer as the unversioned ones', async () => {
    const meta = (await (await fetch(url + '/v2')).json()) as { extensions: string[] };
    expect(meta.extensions).toContain('binary_tensor_data');
    const plain = await (await fetch(url + '/v2/models/fashion')).json();
    const v1 = await fetch(url + '/v2/models/fashion/versions/1');
    expect(v1.status).toBe(200);
    expect(await v1.json()).toEqual(plain);
    expect((await fetch(url + '/v2/models/fashion/versions/1/ready')).status).toBe(200);
    const v7 = await fetch(url + '/v2/models/fashion/versions/7');
    expect(v7.status).toBe(404);
    expect(await error(v7)).toMatch(/model fashion has no version "7" \(versions: 1\)/);
    const a = (await (
      await post('/v2/models/fashion/infer', JSON.stringify({ inputs: [tensor] }), 'application/json')
    ).json()) as any;
    const b = (await (
      await post('/v2/models/fashion/versions/1/infer', JSON.stringify({ inputs: [tensor] }), 'application/json')
    ).json()) as any;
    expect(b).toEqual(a);
  });

  it('returns outputs as binary when asked (per output or for all), the same values as JSON', async () => {
    const json = (await (
      await post('/v2/models/fashion/infer', JSON.stringify({ inputs: [tensor] }), 'application/json')
    ).json()) as any;
    const asks = [
      { inputs: [tensor], outputs: [{ name: 'l2norm', parameters: { binary_data: true } }, { name: 'prob' }] },
      { inputs: [tensor], outputs: [{ name: 'l2norm' }, { name: 'prob' }], parameters: { binary_data_output: true } },
    ];
    for (const [i, ask] of asks.entries()) {
      const r = await post('/v2/models/fashion/infer', JSON.stringify(ask), 'application/json');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/octet-stream');
      const len = Number(r.headers.get('inference-header-content-length'));
      const bytes = Buffer.from(await r.arrayBuffer());
      const header = JSON.parse(bytes.subarray(0, len).toString('utf8'));
      let off = len;
      for (const o of header.outputs) {
        const want = json.outputs.find((x: { name: string }) => x.name === o.name).data as number[];
        if (i === 0 && o.name === 'prob') {
          expect(o.data).toEqual(want);
          continue;
        }
        expect(o.data).toBeUndefined();
        const size = o.parameters.binary_data_size;
        const got = Array.from({ length: size / 4 }, (_, k) => bytes.readFloatLE(off + k * 4));
        off += size;
        expect(maxAbsDiff(got, want)).toBe(0);
      }
      expect(off).toBe(bytes.length);
    }
  });

  it('metrics: the standard process and Node.js names, ours under semembed_', async () => {
    const text = await (await fetch(url + '/metrics')).text();
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).toMatch(/^semembed_http_requests_total\{/m);
    expect(text).not.toMatch(/semembed_process_|semembed_nodejs_/);
  });
});

describe('slow clients', () => {
  it('a client that never finishes its headers gets 408 after headersTimeoutMs while others are served', async () => {
    const s = await tinyServer({ headersTimeoutMs: 300 });
    const u = new URL(await s.listen());
    try {
      const slow = connect(Number(u.port), u.hostname);
      slow.on('error', () => {});
      let answer = '';
      slow.on('data', (d) => (answer += d)); // flowing, so the client sees the server's close
      await new Promise((r) => slow.once('connect', r));
      const t0 = Date.now();
      slow.write('POST /v1/embed HTTP/1.1\r\nHost: x\r\n');
      const closed = new Promise<number>((r) => slow.once('close', () => r(Date.now() - t0)));
      const ok = await fetch(u.origin + '/v1/embed', {
        method: 'POST',
        body: png,
        headers: { 'content-type': 'image/png' },
      });
      expect(ok.status).toBe(200);
      const ms = await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(5000);
    } finally {
      await s.close();
    }
  });
});

describe('shutdown in bounded time', () => {
  it('slow-header clients do not hold it; requests arriving meanwhile get 503; in-flight ones finish', async () => {
    const s = await tinyServer({ maxQueueDelayMs: 400 });
    const u = new URL(await s.listen());
    // A client that sends half a request line and then nothing.
    const slow = connect(Number(u.port), u.hostname);
    await new Promise((r) => slow.once('connect', r));
    slow.write('POST /v1/embed HTTP/1.1\r\nHost: x\r\n');
    const slowClosed = new Promise((r) => slow.once('close', r));
    slow.on('error', () => {});
    const inflight = fetch(u.origin + '/v1/embed', {
      method: 'POST',
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    await new Promise((r) => setTimeout(r, 80)); // waiting in the 400 ms batch window
    const t0 = Date.now();
    const closed = s.close();
    const during = await fetch(u.origin + '/v2/health/live');
    expect(during.status).toBe(503);
    expect(await error(during)).toMatch(/shutting down/);
    const r = await inflight;
    expect(r.status).toBe(200);
    await closed;
    await slowClosed;
    const took = Date.now() - t0;
    console.log(`shutdown with a slow-header client and one in-flight request: ${took} ms`);
    expect(took).toBeLessThan(2000);
  });
});

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import autocannon from 'autocannon';
import { slowHeaders } from '@semembed/test-fixtures';
import type { SemembedServer } from '../src/index.js';
import { fixture, maxAbsDiff, readJson, tinyServer } from './helpers.js';

// Load and fault tests against a real server on loopback only; every loop is bounded in count.

const ref = readJson('fashion-tiny.reference.json')['gray28.png'];
const png = readFileSync(fixture('gray28.png'));
let server: SemembedServer;
let url: string;

beforeAll(async () => {
  server = await tinyServer({
    maxBatchSize: 64,
    maxQueueDelayMs: 2,
    bodyLimit: 256 * 1024,
    logger: 'error',
  });
  url = await server.listen();
  expect(new URL(url).hostname).toBe('127.0.0.1');
});
afterAll(async () => {
  await server?.close();
});

describe('load', () => {
  it('10,000 image requests at concurrency 64: no 5xx, no errors, none dropped', async () => {
    const result = await autocannon({
      url: `${url}/v1/embed`,
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: png,
      connections: 64,
      amount: 10_000,
      timeout: 60,
    });
    console.log(
      `load: ${result.requests.total} requests in ${result.duration.toFixed(1)} s, ${result.requests.average.toFixed(0)} req/s, ` +
        `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms (2 shared cores)`,
    );
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result['5xx']).toBe(0);
    expect(result['2xx']).toBe(10_000);
    // Batching happened: far fewer inference batches than requests.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const batches = Number(/semembed_batch_size_count\{model="fashion-tiny"\} (\d+)/.exec(metrics)![1]);
    const samples = Number(/semembed_batch_size_sum\{model="fashion-tiny"\} (\d+)/.exec(metrics)![1]);
    expect(samples).toBeGreaterThanOrEqual(10_000);
    expect(batches).toBeLessThan(samples);
  }, 120_000);

  it('fault mix: malformed and oversized requests among valid ones; every valid one succeeds', async () => {
    const n = 800;
    const kinds = [
      'png',
      'png',
      'png',
      'json',
      'corrupt',
      'oversized',
      'badjson',
      'badshape',
      'unknown-model',
      'empty',
      'bigmultipart',
      'badmultipart',
    ] as const;
    type Kind = (typeof kinds)[number];
    const expected: Record<Kind, number> = {
      png: 200,
      json: 200,
      corrupt: 400,
      oversized: 413,
      badjson: 400,
      badshape: 400,
      'unknown-model': 404,
      empty: 400,
      bigmultipart: 413,
      badmultipart: 400,
    };
    const b64 = png.toString('base64');
    const oversized = Buffer.alloc(300 * 1024, 7);
    // Multipart over --body_limit_mb although each file is small: three 100 KB parts against the 256 KB limit.
    const bigForm = () => {
      const fd = new FormData();
      for (let i = 0; i < 3; i++) fd.append(`f${i}`, new Blob([Buffer.alloc(100 * 1024, i)]), `f${i}.png`);
      return fd;
    };
    const send = (kind: Kind): Promise<Response> => {
      const post = (path: string, body: Uint8Array | string | FormData, type?: string) =>
        fetch(url + path, { method: 'POST', body, headers: type ? { 'content-type': type } : {} });
      switch (kind) {
        case 'bigmultipart':
          return post('/v1/embed', bigForm());
        case 'badmultipart':
          return post(
            '/v1/embed',
            '--b\r\ncontent-disposition: form-data; name="a"; filename="a"\r\n\r\nxx',
            'multipart/form-data; boundary=b',
          );
        case 'png':
          return post('/v1/embed', png, 'image/png');
        case 'json':
          return post('/v1/embed', JSON.stringify({ images: [b64, b64] }), 'application/json');
        case 'corrupt':
          return post('/v1/embed', png.subarray(0, 100), 'image/png');
        case 'oversized':
          return post('/v1/embed', oversized, 'image/png');
        case 'badjson':
          return post('/v1/embed', '{"images": ["', 'application/json');
        case 'badshape':
          return post(
            '/v2/models/fashion-tiny/infer',
            JSON.stringify({
              inputs: [{ name: 'input', shape: [1, 28, 28], datatype: 'FP32', data: new Array(784).fill(0) }],
            }),
            'application/json',
          );
        case 'unknown-model':
          return post('/v1/embed?model=nope', png, 'image/png');
        case 'empty':
          return post('/v1/embed', new Uint8Array(0), 'image/png');
      }
    };
    const tally: Record<string, number> = {};
    const wrong: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const kind = kinds[next++ % kinds.length];
        const r = await send(kind);
        const body = (await r.json()) as { embeddings?: number[][]; error?: string };
        tally[`${kind} ${r.status}`] = (tally[`${kind} ${r.status}`] ?? 0) + 1;
        if (r.status !== expected[kind]) wrong.push(`${kind}: ${r.status} ${body.error ?? ''}`);
        else if (r.status === 200 && body.embeddings!.some((e) => maxAbsDiff(e, ref.l2norm) > 2e-5))
          wrong.push(`${kind}: wrong embedding`);
        else if (r.status !== 200 && !body.error) wrong.push(`${kind}: no error message`);
      }
    };
    // Slow clients meanwhile: 8 connections that trickle a request's headers (one byte per 100 ms, bounded).
    const slow = Array.from({ length: 8 }, () => slowHeaders(url, 40, 'image/png'));
    const rssBefore = process.memoryUsage().rss;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 32 }, worker));
    const seconds = (Date.now() - t0) / 1000;
    await Promise.all(slow);
    const rssAfter = process.memoryUsage().rss;
    console.log(
      `fault mix: ${n} requests in ${seconds.toFixed(1)} s with 8 slow-header clients; rss ${(rssBefore / 2 ** 20).toFixed(0)} -> ` +
        `${(rssAfter / 2 ** 20).toFixed(0)} MB (server and client in one process); ${JSON.stringify(tally)}`,
    );
    expect(rssAfter - rssBefore).toBeLessThan(128 * 2 ** 20);
    expect(wrong).toEqual([]);
    expect(Object.values(tally).reduce((a, b) => a + b, 0)).toBe(n);
    expect(Object.keys(tally).some((k) => /\s5\d\d$/.test(k))).toBe(false);
    // The server still answers normally afterwards.
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
  }, 120_000);
});

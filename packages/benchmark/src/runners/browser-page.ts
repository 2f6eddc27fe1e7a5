// The page the browser runners drive: onnxruntime-web from node_modules, the model, COOP/COEP headers (so the
// page is cross-origin isolated and wasm may use threads). Served on 127.0.0.1 only; timing happens in the page.
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize } from 'node:path';

const require = createRequire(import.meta.url);

/** The in-page harness: inputs are uploaded once per key (base64), runs are timed with performance.now(). */
const PAGE = `<!doctype html><meta charset="utf-8"><title>semembed benchmark</title>
<script type="module">
import * as ort from '/ort/ort.webgpu.min.mjs';
ort.env.wasm.wasmPaths = '/ort/';
const b64 = (s) => {
  const bin = atob(s);
  const u = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
  return u;
};
const enc = (f) => {
  const u = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  let s = '';
  for (let i = 0; i < u.length; i += 32768) s += String.fromCharCode.apply(null, u.subarray(i, i + 32768));
  return btoa(s);
};
let session, shape, inputName;
const inputs = new Map();
window.bench = {
  async load(ep, threads, sampleShape) {
    ort.env.wasm.numThreads = threads;
    shape = sampleShape;
    let adapter = '';
    if (ep === 'webgpu') {
      if (!navigator.gpu) throw new Error('navigator.gpu is missing (WebGPU disabled in this browser)');
      const a = await navigator.gpu.requestAdapter();
      if (!a) throw new Error('no WebGPU adapter');
      adapter = [a.info?.vendor, a.info?.architecture, a.info?.description].filter(Boolean).join(' ');
    }
    const t0 = performance.now();
    const opts = { executionProviders: [ep], graphOptimizationLevel: 'all' };
    session = await ort.InferenceSession.create('/model.onnx', opts);
    inputName = session.inputNames[0];
    const version = ort.env.versions?.web ?? '';
    return { ms: performance.now() - t0, isolated: self.crossOriginIsolated, adapter, version };
  },
  put(key, data, n) { inputs.set(key, { data: new Float32Array(b64(data).buffer), n }); },
  async run(key, want) {
    const x = inputs.get(key);
    const t = new ort.Tensor('float32', x.data, [x.n, ...shape]);
    const t0 = performance.now();
    const res = await session.run({ [inputName]: t });
    const out = {};
    for (const [k, v] of Object.entries(res)) {
      const d = await v.getData();
      if (want) out[k] = enc(d instanceof Float32Array ? d : Float32Array.from(d));
      v.dispose();
    }
    return { ms: performance.now() - t0, out: want ? out : undefined };
  },
  async release() { await session?.release(); },
};
document.body.dataset.state = 'ready';
</script>`;

const TYPES: Record<string, string> = {
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
};

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

export function ortWebDist(): string {
  return dirname(require.resolve('onnxruntime-web'));
}

export async function servePage(modelPath: string): Promise<PageServer> {
  const dist = ortWebDist();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    let file: string | undefined;
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    if (path === '/model.onnx') file = modelPath;
    else if (path.startsWith('/ort/')) {
      const f = normalize(join(dist, path.slice(5)));
      if (f.startsWith(dist)) file = f;
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const toBase64 = (f: Float32Array): string =>
  Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
export const fromBase64 = (s: string): Float32Array => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

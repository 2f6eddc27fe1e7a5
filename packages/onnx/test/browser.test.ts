import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { describe, expect, it } from 'vitest';

// The package is meant for browsers too: bundle it for the browser with vite (a node: import would be
// externalised and fail to load) and run read / write / shapes / cost in Chromium on a converter-written model.
const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('in a browser', () => {
  it('bundles without Node built-ins and round-trips a model in Chromium', async () => {
    const out = mkdtempSync(join(tmpdir(), 'semembed-onnx-web-'));
    await build({
      configFile: false,
      logLevel: 'silent',
      root: PKG,
      build: {
        outDir: out,
        emptyOutDir: true,
        minify: false,
        lib: {
          entry: join(PKG, 'src', 'index.ts'),
          formats: ['iife'],
          name: 'semembedOnnx',
          fileName: () => 'onnx.js',
        },
      },
    });
    const bundle = readFileSync(join(out, 'onnx.js'), 'utf8');
    // vite swaps a Node built-in for an empty stub; only protobufjs's optional fs (it checks and falls back, as its
    // package.json "browser" field intends) may use one. Modules are separated by `// <path>` comments.
    const sections = bundle.split(/\n\t*\/\/ (?=\S+\n)/).map((t) => ({ path: t.slice(0, t.indexOf('\n')), text: t }));
    const stubbed = sections
      .filter((m) => m.path !== '__vite-browser-external' && /(require|import)___vite_browser_external\b/.test(m.text))
      .map((m) => m.path);
    expect(stubbed).toEqual(['node_modules/protobufjs/src/util/fs.js']);
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:/);
    const model = readFileSync(join(PKG, 'test', 'fixtures', 'converter-12net.onnx')).toString('base64');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.addScriptTag({ content: bundle });
      const r = await page.evaluate((b64) => {
        const lib = (globalThis as unknown as { semembedOnnx: typeof import('../src/index.js') }).semembedOnnx;
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const m = lib.readModel(bytes);
        const again = lib.writeModel(m);
        const shapes = lib.inferShapes(m, { input_2: [1, 24, 24, 3] });
        return {
          isBuffer: typeof (globalThis as { Buffer?: unknown }).Buffer !== 'undefined',
          same: again.length === bytes.length && again.every((v, i) => v === bytes[i]),
          nodes: m.graph!.node.length,
          conv: shapes.get(m.graph!.node[1].output[0])?.dims,
          flops: lib.modelCost(m, { input_2: [1, 24, 24, 3] }).flops,
        };
      }, model);
      expect(errors).toEqual([]);
      expect(r.isBuffer).toBe(false);
      expect(r.same).toBe(true);
      expect(r.nodes).toBe(15);
      // The same numbers as in Node.
      const lib = await import('../src/index.js');
      const m = lib.readModel(new Uint8Array(Buffer.from(model, 'base64')));
      expect(r.conv).toEqual(lib.inferShapes(m, { input_2: [1, 24, 24, 3] }).get(m.graph!.node[1].output[0])!.dims);
      expect(r.flops).toBe(lib.modelCost(m, { input_2: [1, 24, 24, 3] }).flops);
      expect(r.flops).toBeGreaterThan(0);
    } finally {
      await browser.close();
    }
  });
});

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

/**
 * ORT's wasm glue and binary, copied from node_modules into <out>/ort/ (no CDN: the page works offline).
 * They stay separate files on purpose: with threads, ORT starts its workers from the glue's own URL;
 * bundled into the page's chunk, each worker would run the page script too (and die on `document`).
 */
function ortWasm(): Plugin {
  const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm'));
  return {
    name: 'semembed-ort-wasm',
    apply: 'build',
    generateBundle() {
      for (const f of ORT_FILES)
        this.emitFile({ type: 'asset', fileName: `ort/${f}`, source: readFileSync(join(dist, f)) });
    },
  };
}

// Static site in dist/web, relative base so it works under any path (semembed serve --web_root, any
// static server, a sub-folder).
export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  // ORT's build that loads its wasm glue from env.wasm.wasmPaths instead of embedding it.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  plugins: [ortWasm()],
  // The gallery search worker is an ES module (it imports the gallery code).
  worker: { format: 'es' },
  build: {
    outDir: `${here}../dist/web`,
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    assetsInlineLimit: 0,
  },
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  preview: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
});

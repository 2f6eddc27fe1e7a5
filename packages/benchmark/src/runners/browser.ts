// onnxruntime-web in headless Chromium (playwright-core, Debian's /usr/bin/chromium): wasm on one thread, wasm
// on all cores (the page is cross-origin isolated), WebGPU (SwiftShader here, the GPU on a real machine).
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { UnavailableError, firstLine } from '../errors.js';
import type { Availability, Batch, LoadResult, Outputs, RunResult, Runner, RunnerContext } from '../types.js';
import { fromBase64, servePage, toBase64, type PageServer } from './browser-page.js';
import { chromiumLaunchOptions, chromiumPath } from '@semembed/runtime-web/chromium';

export class BrowserRunner implements Runner {
  readonly family = 'browser';
  private ctx?: BrowserContext;
  private page?: Page;
  private server?: PageServer;
  private uploaded = new Set<string>();
  constructor(
    readonly id: string,
    readonly label: string,
    private readonly ep: 'wasm' | 'webgpu',
    /** 0 = all cores. */
    private readonly threads: number,
  ) {}

  async available(): Promise<Availability> {
    if (!existsSync(chromiumPath()))
      return {
        ok: false,
        reason: `Chromium not found at ${chromiumPath()} (apt-get install chromium, or set CHROMIUM_PATH)`,
      };
    try {
      await import('playwright-core');
    } catch {
      return { ok: false, reason: 'playwright-core is not installed' };
    }
    return { ok: true };
  }

  async load(rctx: RunnerContext): Promise<LoadResult> {
    const { chromium } = await import('playwright-core');
    this.server = await servePage(rctx.model.onnx);
    const profile = mkdtempSync(join(rctx.work, 'chromium-'));
    this.ctx = await chromium.launchPersistentContext(profile, chromiumLaunchOptions());
    this.page = await this.ctx.newPage();
    await this.page.goto(this.server.url);
    await this.page.waitForFunction('document.body && document.body.dataset.state === "ready"', null, {
      timeout: 60_000,
    });
    const threads = this.threads || rctx.cores;
    let info: { ms: number; isolated: boolean; adapter: string; version: string };
    try {
      info = await this.page.evaluate(([ep, t, shape]) => (globalThis as unknown as Bench).bench.load(ep, t, shape), [
        this.ep,
        threads,
        rctx.model.sampleShape,
      ] as [string, number, number[]]);
    } catch (err) {
      const why = firstLine(err).replace(/^page\.evaluate: (Error: )?/, '');
      if (this.ep === 'webgpu' && /navigator\.gpu|adapter/i.test(why)) throw new UnavailableError(why);
      throw new Error(why, { cause: err });
    }
    if (this.ep === 'wasm' && threads > 1 && !info.isolated)
      throw new Error('the page is not cross-origin isolated: wasm threads unavailable');
    const version = this.ctx.browser()?.version() ?? '';
    const what =
      this.ep === 'webgpu'
        ? `WebGPU on ${info.adapter || 'an unnamed adapter'}`
        : `wasm, ${threads} thread${threads > 1 ? 's' : ''}`;
    return { sessionMs: info.ms, detail: `onnxruntime-web ${info.version} in Chromium ${version}, ${what}` };
  }

  async run(batch: Batch, opts: { outputs?: boolean } = {}): Promise<RunResult> {
    const page = this.page!;
    if (!this.uploaded.has(batch.key)) {
      await page.evaluate(([k, d, n]) => (globalThis as unknown as Bench).bench.put(k, d, n), [
        batch.key,
        toBase64(batch.data),
        batch.n,
      ] as [string, string, number]);
      this.uploaded.add(batch.key);
    }
    const r = await page.evaluate(([k, w]) => (globalThis as unknown as Bench).bench.run(k, w), [
      batch.key,
      opts.outputs === true,
    ] as [string, boolean]);
    if (!r.out) return { ms: r.ms };
    const outputs: Outputs = {};
    for (const [name, s] of Object.entries(r.out)) outputs[name] = fromBase64(s);
    return { ms: r.ms, outputs };
  }

  async dispose(): Promise<void> {
    await this.page?.evaluate(() => (globalThis as unknown as Bench).bench.release()).catch(() => undefined);
    await this.ctx?.close().catch(() => undefined);
    await this.server?.close();
    this.ctx = undefined;
    this.page = undefined;
    this.server = undefined;
  }
}

interface Bench {
  bench: {
    load(
      ep: string,
      threads: number,
      shape: number[],
    ): Promise<{ ms: number; isolated: boolean; adapter: string; version: string }>;
    put(key: string, data: string, n: number): void;
    run(key: string, want: boolean): Promise<{ ms: number; out?: Record<string, string> }>;
    release(): Promise<void>;
  };
}

export const browserWasm1 = (): Runner =>
  new BrowserRunner('chromium-wasm-1', 'ORT web in Chromium, wasm 1 thread', 'wasm', 1);
export const browserWasmN = (): Runner =>
  new BrowserRunner('chromium-wasm', 'ORT web in Chromium, wasm all cores', 'wasm', 0);
export const browserWebgpu = (): Runner =>
  new BrowserRunner('chromium-webgpu', 'ORT web in Chromium, WebGPU', 'webgpu', 0);

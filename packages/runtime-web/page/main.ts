import {
  isUserError,
  loadGallery,
  loadModel,
  firstLine,
  type ClassScore,
  type GalleryMatch,
  type ImageInput,
  type ImageResult,
  type WebGallery,
  type WebModel,
} from '../src/index.js';
import { ensureOffline, registerServiceWorker, type OfflineReport } from './offline.js';
import { SearchClient } from './search-client.js';
import { pickVariant, type VariantChoice } from './variants.js';

/** What the page exposes for tests and benchmarks (window.semembed). */
interface PageApi {
  model?: WebModel;
  gallery?: WebGallery;
  last?: {
    source: string;
    embedding: number[];
    probabilities?: number[];
    classes: ClassScore[];
    nearest: ClassScore[];
    matches: GalleryMatch[];
    ep: string;
    ms: { preprocess: number; inference: number; search: number };
    excluded?: number;
  };
  error?: string;
  /** The model variant running (fp32 / fp16 / int8 / ...), why, and its latency for one image. */
  variant?: VariantChoice & { latencyMs: number };
  /** What the offline cache did on this visit. */
  offline?: OfflineReport;
  /** `exclude`: the query is gallery row `exclude`; it is left out of the matches. */
  query(input: ImageInput, source?: string, exclude?: number): Promise<void>;
  /** Times model.run on random inputs: median ms per batch over `iters` runs after `warmup`. */
  bench(
    batch: number,
    iters: number,
    warmup?: number,
  ): Promise<{ batch: number; iters: number; medianMs: number; imgPerS: number; runsMs: number[] }>;
  /** Times gallery search in the search worker: median ms over `iters` queries. */
  benchSearch(iters: number, k?: number): Promise<{ medianMs: number; rows: number; dim: number }>;
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const api: PageApi = { query, bench, benchSearch };
const searcher = new SearchClient();
(window as unknown as { semembed: PageApi }).semembed = api;

function setState(s: 'loading' | 'ready' | 'busy' | 'done' | 'error'): void {
  document.body.dataset.state = s;
}

function showError(err: unknown): void {
  // Our own errors are meant for the user as they are; anything else gets its first line and a hint.
  const msg = isUserError(err) ? err.message : `unexpected error: ${firstLine(err)} (see the browser console)`;
  if (!isUserError(err)) console.error(err);
  api.error = msg;
  const box = $('error');
  box.textContent = msg;
  box.hidden = false;
  setState('error');
}

function clearError(): void {
  api.error = undefined;
  $('error').hidden = true;
}

interface Config {
  model: string;
  gallery?: string;
  ep?: string;
  threads?: number;
  k?: number;
  /** Precision name -> sidecar URL (fp32, fp16, int8, dynamic); the page picks one for the device. */
  variants?: Record<string, string>;
  variant?: string;
  /** The model URL was typed into the form: run it as it is, whatever the variants. */
  custom?: boolean;
}

async function readConfig(): Promise<Config> {
  // Query parameters win; config.json beside the page gives the site's defaults (written by make-site).
  let cfg: Config = { model: 'models/default/model.json', gallery: 'models/default/gallery.bin' };
  try {
    const res = await fetch('config.json', { cache: 'no-cache' });
    // A config.json without a gallery means: no gallery (not the default one).
    if (res.ok) cfg = { model: cfg.model, ...((await res.json()) as Partial<Config>) };
  } catch {
    // No config.json: the defaults above.
  }
  if (params.get('model')) cfg.model = params.get('model')!;
  if (params.has('gallery')) cfg.gallery = params.get('gallery') || undefined; // ?gallery= : none
  if (params.get('ep')) cfg.ep = params.get('ep')!;
  if (params.get('variant')) cfg.variant = params.get('variant')!;
  cfg.custom = params.has('model');
  if (params.has('threads')) cfg.threads = Number(params.get('threads'));
  if (params.has('k')) cfg.k = Number(params.get('k'));
  return cfg;
}

let cfg: Config;

/**
 * Registers sw.js (offline cache; with ?coi=1 it also makes the page cross-origin isolated when the server does
 * not send COOP/COEP, which wasm threads need). Returns false when the page is about to reload under the worker.
 */
async function startServiceWorker(): Promise<boolean> {
  const coi = params.get('coi') === '1';
  try {
    await registerServiceWorker(coi);
  } catch (err) {
    const threads = coi ? ', wasm runs on one thread' : '';
    console.warn(`sw.js could not be registered (${firstLine(err)}): no offline copy${threads}`);
    return true;
  }
  // The document itself came without the headers: only a reload through the worker isolates it (once).
  const once = 'semembed-coi-reloaded';
  if (coi && !crossOriginIsolated && !sessionStorage.getItem(once)) {
    sessionStorage.setItem(once, '1');
    location.reload();
    return false;
  }
  return true;
}

async function init(): Promise<void> {
  if (!(await startServiceWorker())) return;
  cfg = await readConfig();
  $<HTMLInputElement>('model-url').value = cfg.model;
  $<HTMLInputElement>('gallery-url').value = cfg.gallery ?? '';
  const epSel = $<HTMLSelectElement>('ep');
  if (cfg.ep && ![...epSel.options].some((o) => o.value === cfg.ep)) epSel.add(new Option(cfg.ep, cfg.ep));
  epSel.value = cfg.ep ?? '';
  const varSel = $<HTMLSelectElement>('variant');
  for (const name of Object.keys(cfg.variants ?? {})) varSel.add(new Option(name, name));
  varSel.value = cfg.variant && cfg.variants?.[cfg.variant] ? cfg.variant : 'auto';
  await load();
}

/** Downloads what this visit needs for offline use, with the progress bar; true when the page reloads. */
async function offlineCopy(choice: VariantChoice): Promise<boolean> {
  const bar = $<HTMLProgressElement>('download');
  const text = $('offline-text');
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const groups = [...(cfg.gallery ? ['gallery'] : []), `variant:${choice.name}`];
  let report: OfflineReport;
  try {
    report = await ensureOffline({
      groups,
      onProgress(done, total) {
        if (total === 0) return;
        bar.hidden = false;
        bar.max = total;
        bar.value = done;
        text.textContent = `downloading for offline use: ${mb(done)} / ${mb(total)} MB`;
      },
    });
  } catch (err) {
    report = { status: 'unsupported', bytes: 0, progressEvents: 0, reason: firstLine(err) };
  }
  api.offline = report;
  bar.hidden = true;
  $('offline').dataset.status = report.status;
  const v = report.version ? ` (version ${report.version.slice(0, 12)})` : '';
  text.textContent = {
    downloaded: `available offline${v}`,
    cached: `available offline${v}`,
    updated: `new version${v} downloaded: reloading`,
    offline: report.version ? `offline: running the cached copy${v}` : `offline, nothing cached (${report.reason})`,
    'no-manifest': `no offline copy (${report.reason})`,
    unsupported: `no offline copy (${report.reason})`,
  }[report.status];
  if (report.status !== 'updated') return false;
  location.reload();
  return true;
}

async function latency(model: WebModel): Promise<number> {
  const x = new Float32Array(model.sampleSize);
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await model.run(x, 1);
    runs.push(performance.now() - t0);
  }
  return runs.sort((a, b) => a - b)[1];
}

async function load(): Promise<void> {
  clearError();
  setState('loading');
  $('status').textContent = 'loading model…';
  await api.model?.release();
  api.model = undefined;
  api.gallery = undefined;
  api.variant = undefined;
  const t0 = performance.now();
  try {
    const choice: VariantChoice = cfg.custom
      ? {
          name: 'custom',
          url: cfg.model,
          eps: cfg.ep ? (cfg.ep.split(',') as VariantChoice['eps']) : ['webgpu', 'wasm'],
          why: 'model URL given',
        }
      : await pickVariant(cfg.variants ?? {}, { override: cfg.variant, ep: cfg.ep, fallbackUrl: cfg.model });
    $<HTMLInputElement>('model-url').value = choice.url;
    if (await offlineCopy(choice)) return;
    const [model, gallery] = await Promise.all([
      loadModel(choice.url, {
        executionProviders: choice.eps,
        wasmPaths: new URL('ort/', document.baseURI).href,
        ...(cfg.threads && { numThreads: cfg.threads }),
      }),
      cfg.gallery ? loadGallery(new URL(cfg.gallery, location.href)) : Promise.resolve(undefined),
    ]);
    if (gallery) await searcher.load(gallery);
    api.model = model;
    api.gallery = gallery;
    const loadMs = performance.now() - t0;
    api.variant = { ...choice, latencyMs: await latency(model) };
    const r = model.providers;
    const skipped = r.attempts.filter((a) => !a.ok).map((a) => `${a.ep} skipped: ${a.reason}`);
    $('status').textContent =
      `${model.name}: ${r.chosen} (${r.attempts.at(-1)!.reason}) · loaded in ${loadMs.toFixed(0)} ms` +
      ` · variant ${choice.name} (${choice.why}) · ${api.variant.latencyMs.toFixed(1)} ms per image` +
      (gallery ? ` · gallery ${gallery.size} × ${gallery.dim}` : ' · no gallery') +
      (skipped.length ? ` · ${skipped.join('; ')}` : '');
    $('status').dataset.ep = r.chosen;
    $('status').dataset.variant = choice.name;
    if (gallery && model.embeddingOutput?.dim !== undefined && gallery.dim !== model.embeddingOutput.dim) {
      throw Object.assign(
        new Error(
          `gallery ${cfg.gallery} has ${gallery.dim}-d embeddings, model ${model.name} gives ${model.embeddingOutput.dim}-d`,
        ),
        { userFacing: true },
      );
    }
    renderPicks();
    setState('ready');
  } catch (err) {
    $('status').textContent = 'not loaded';
    showError(err);
  }
}

function thumbCanvas(i: number): HTMLCanvasElement | HTMLImageElement | undefined {
  const g = api.gallery!;
  const t = g.thumbnailRGBA(i);
  if (t) {
    const c = document.createElement('canvas');
    c.width = t.width;
    c.height = t.height;
    c.getContext('2d')!.putImageData(new ImageData(t.data, t.width, t.height), 0, 0);
    return c;
  }
  const src = g.header.images?.[i];
  if (src) {
    const img = document.createElement('img');
    img.src = new URL(src, new URL(cfg.gallery!, location.href)).href;
    img.loading = 'lazy';
    return img;
  }
  return undefined;
}

function renderPicks(): void {
  const box = $('picks');
  box.replaceChildren();
  const g = api.gallery;
  if (!g) return;
  // A fixed spread of rows (not random): the same picks every load, so screenshots compare.
  const n = Math.min(12, g.size);
  for (let j = 0; j < n; j++) {
    const i = Math.floor((j * g.size) / n);
    const el = thumbCanvas(i);
    if (!el) return;
    el.title = `gallery #${i}${g.header.labels ? ` (${g.header.labels[i]})` : ''}`;
    el.dataset.index = String(i);
    el.addEventListener('click', () => {
      const input = el instanceof HTMLCanvasElement ? el : (el as HTMLImageElement);
      void query(input, `gallery #${i}`, i);
    });
    box.append(el);
  }
}

function classRows(table: HTMLTableElement, rows: ClassScore[], kind: 'probability' | 'similarity'): void {
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const c of rows) {
    const tr = body.insertRow();
    tr.insertCell().textContent = c.name ?? String(c.id);
    const bar = tr.insertCell();
    bar.className = 'bar';
    const div = document.createElement('div');
    div.style.width = `${Math.max(0, Math.min(1, c.score)) * 100}%`;
    bar.append(div);
    tr.insertCell().textContent = kind === 'probability' ? `${(c.score * 100).toFixed(1)}%` : c.score.toFixed(3);
    const path = tr.insertCell();
    path.className = 'path';
    path.textContent = c.path?.join(' › ') ?? '';
  }
}

async function query(input: ImageInput, source = 'image', exclude?: number): Promise<void> {
  const model = api.model;
  if (!model) return showError(Object.assign(new Error('no model loaded yet'), { userFacing: true }));
  clearError();
  setState('busy');
  try {
    const [H, W] = model.sidecar.preprocessing.resize;
    const result: ImageResult = await model.embed(input, { source });
    const { preprocessMs, inferenceMs } = model.lastTiming;
    drawQuery(input, H, W);
    $('query-name').textContent = source;
    const classes = result.probabilities ? model.topClasses(result.probabilities, 5) : [];
    const nearest = model.nearestClasses(result.embedding, 5);
    classRows($('class-table'), classes, 'probability');
    classRows($('nearest-table'), nearest, 'similarity');
    const { matches, ms: searchMs } = api.gallery
      ? await searcher.search(result.embedding, cfg.k ?? 10, exclude)
      : { matches: [], ms: 0 };
    renderMatches(matches);
    const left = exclude === undefined ? '' : ' (the query itself is left out of the matches)';
    $('query-name').textContent = source + left;
    const r = model.providers;
    $('timing').textContent =
      `${r.chosen}${r.chosen === 'wasm' ? ` (${r.threads} thread${r.threads > 1 ? 's' : ''})` : ''} · preprocess ${preprocessMs.toFixed(1)} ms · inference ${inferenceMs.toFixed(1)} ms · search ${searchMs.toFixed(1)} ms`;
    api.last = {
      source,
      embedding: Array.from(result.embedding),
      ...(result.probabilities && { probabilities: Array.from(result.probabilities) }),
      classes,
      nearest,
      matches,
      ep: r.chosen,
      ms: { preprocess: preprocessMs, inference: inferenceMs, search: searchMs },
      ...(exclude !== undefined && { excluded: exclude }),
    };
    setState('done');
  } catch (err) {
    showError(err);
  }
}

function drawQuery(input: ImageInput, H: number, W: number): void {
  const c = $<HTMLCanvasElement>('query-canvas');
  const ctx = c.getContext('2d')!;
  ctx.clearRect(0, 0, c.width, c.height);
  c.hidden = false;
  const draw = (src: CanvasImageSource, w: number, h: number) => {
    const s = Math.min(c.width / w, c.height / h);
    ctx.imageSmoothingEnabled = s < 1;
    ctx.drawImage(src, (c.width - w * s) / 2, (c.height - h * s) / 2, w * s, h * s);
  };
  if (input instanceof Blob) {
    createImageBitmap(input).then(
      (b) => draw(b, b.width, b.height),
      () => undefined,
    );
  } else if (input instanceof ImageData) {
    createImageBitmap(input).then(
      (b) => draw(b, b.width, b.height),
      () => undefined,
    );
  } else if (input instanceof HTMLImageElement) draw(input, input.naturalWidth || W, input.naturalHeight || H);
  else draw(input as CanvasImageSource, (input as { width: number }).width, (input as { height: number }).height);
}

function renderMatches(matches: GalleryMatch[]): void {
  const list = $('matches');
  list.replaceChildren();
  for (const m of matches) {
    const li = document.createElement('li');
    const el = thumbCanvas(m.index);
    if (el) li.append(el);
    const cap = document.createElement('div');
    cap.textContent = `${m.label ?? m.id ?? `#${m.index}`} · ${m.similarity.toFixed(3)}`;
    li.append(cap);
    li.dataset.index = String(m.index);
    list.append(li);
  }
}

async function bench(batch: number, iters: number, warmup = 3) {
  const model = api.model!;
  const x = new Float32Array(batch * model.sampleSize);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 2;
  for (let i = 0; i < warmup; i++) await model.run(x, batch);
  const runsMs: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await model.run(x, batch);
    runsMs.push(performance.now() - t0);
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  const medianMs = sorted[Math.floor(sorted.length / 2)];
  return { batch, iters, medianMs, imgPerS: (batch * 1000) / medianMs, runsMs };
}

async function benchSearch(iters: number, k = 10) {
  const g = api.gallery!;
  return { medianMs: await searcher.bench(iters, k), rows: g.size, dim: g.dim };
}

// ---- input: file chooser, drop, paste, form ----
$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void query(f, f.name);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files?.[0];
  if (f) void query(f, f.name);
  else showError(Object.assign(new Error('the dropped item is not a file (drop an image file)'), { userFacing: true }));
});
document.addEventListener('paste', (e) => {
  const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === 'file');
  const f = item?.getAsFile();
  if (f) void query(f, f.name || 'pasted image');
});
$<HTMLFormElement>('model-form').addEventListener('submit', (e) => {
  e.preventDefault();
  cfg.model = $<HTMLInputElement>('model-url').value.trim();
  cfg.gallery = $<HTMLInputElement>('gallery-url').value.trim() || undefined;
  cfg.ep = $<HTMLSelectElement>('ep').value || undefined;
  const variant = $<HTMLSelectElement>('variant').value;
  // A new variant picked: run it; otherwise a model URL other than the running one is a custom model.
  cfg.custom = variant === cfg.variant || (variant === 'auto' && !cfg.variant) ? cfg.model !== api.variant?.url : false;
  cfg.variant = variant;
  void load();
});
window.addEventListener('unhandledrejection', (e) => showError(e.reason));

void init().catch(showError);

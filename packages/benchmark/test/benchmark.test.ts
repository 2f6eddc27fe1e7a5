import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readHierarchy } from '@semembed/hierarchy';
import { evaluateRetrieval } from '@semembed/retrieval';
import type { Sidecar } from '@semembed/runtime-node';
import {
  OrtNodeRunner,
  labelledMetrics,
  compareResults,
  markdownReport,
  percentile,
  runBenchmark,
  terminalTable,
  validateResult,
  writeJson,
  writeReport,
  type Batch,
  type BenchmarkResult,
  type RunResult,
  type RunnerReport,
} from '../src/index.js';
import { tinyH5, tmp } from './helpers.js';

// Quick mode on a small converted model (no timed assertions: speed lives in bench/). Chromium's WebGPU runs on
// SwiftShader here; the variable reaches the browser process, which reads it at its start.
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES ??= SWIFTSHADER;

/** ORT CPU with every 7th output value shifted by 0.01: the accuracy check has to catch it. */
class PerturbedRunner extends OrtNodeRunner {
  constructor() {
    super('perturbed', 'ORT CPU, outputs perturbed', 'cpu', 1);
  }
  override async run(batch: Batch, opts?: { outputs?: boolean }): Promise<RunResult> {
    const r = await super.run(batch, opts);
    for (const v of Object.values(r.outputs ?? {})) for (let i = 0; i < v.length; i += 7) v[i] += 0.01;
    return r;
  }
}

let dir: string;
let h5: string;
let res: BenchmarkResult;
const row = (id: string): RunnerReport => {
  const r = res.runners.find((x) => x.id === id);
  if (!r) throw new Error(`no row for ${id}`);
  return r;
};

beforeAll(async () => {
  dir = tmp();
  h5 = await tinyH5(dir);
  res = await runBenchmark({
    model: h5,
    runtimes: [
      'ort-node-cpu',
      'ort-web-node-wasm',
      'tfjs-wasm',
      'chromium-wasm-1',
      'chromium-webgpu',
      'ort-node-cuda',
      'server',
    ],
    extraRunners: [new PerturbedRunner()],
    batches: [1, 4],
    quick: true,
    limits: { repeats: 2, warmups: 1, queries: 5, offlineSeconds: 0.1, serverSeconds: 0.3, serverLevels: 2 },
    accuracySamples: 6,
    noPeak: false,
    log: () => undefined,
  });
}, 180_000);

describe('semembed benchmark, quick mode', () => {
  it('ORT cpu, ORT-web wasm in Node, TF.js wasm, Chromium wasm and WebGPU, the server: all agree with ORT CPU', () => {
    for (const id of [
      'ort-node-cpu',
      'ort-web-node-wasm',
      'tfjs-wasm',
      'chromium-wasm-1',
      'chromium-webgpu',
      'server',
    ]) {
      const r = row(id);
      expect(r.status, `${id}: ${r.reason}`).toBe('ok');
      expect(r.singleStream!.queries).toBeGreaterThanOrEqual(4);
      expect(r.singleStream!.p50).toBeGreaterThan(0);
      expect(r.singleStream!.p99).toBeGreaterThanOrEqual(r.singleStream!.p50);
      expect(r.offline!.map((o) => o.batch)).toEqual([1, 4]);
      expect(r.coldStart!.sessionMs).toBeGreaterThan(0);
      expect(r.server!.levels.length).toBeGreaterThan(0);
      const acc = r.accuracy!;
      expect(acc.samples).toBe(6);
      expect(Object.keys(acc.outputs).sort()).toEqual([...res.model.outputs].sort());
      for (const o of Object.values(acc.outputs)) {
        expect(o.maxAbsDiff).toBeLessThan(1e-4);
        expect(o.worstCosine).toBeGreaterThan(0.9999);
      }
      expect(acc.top1Agreement).toBe(1);
      expect(acc.flagged).toBe(false);
    }
    expect(row('chromium-webgpu').detail).toMatch(/WebGPU/);
    expect(row('tfjs-wasm').detail).toMatch(/wasm/);
    // ORT CPU against itself is exact: the comparison compares real outputs, not a constant.
    expect(row('ort-node-cpu').accuracy!.outputs.l2norm.maxAbsDiff).toBe(0);
  });

  it('flags a runner whose outputs are perturbed', () => {
    const p = row('perturbed');
    expect(p.status).toBe('ok');
    expect(p.accuracy!.flagged).toBe(true);
    expect(p.accuracy!.flagReason).toMatch(/tolerance/);
    expect(Math.max(...Object.values(p.accuracy!.outputs).map((o) => o.maxAbsDiff))).toBeGreaterThan(5e-3);
    expect(terminalTable(res)).toMatch(/perturbed.*FLAGGED/);
    expect(res.recommendation).toMatch(/beyond the tolerance: perturbed/);
  });

  it('gives an unavailable runtime a row with its reason', () => {
    const c = row('ort-node-cuda');
    expect(c.status).toBe('unavailable');
    expect(c.reason).toMatch(/libonnxruntime_providers_cuda\.so/);
    expect(terminalTable(res)).toMatch(/ort-node-cuda\s+unavailable: .*providers_cuda/);
  });

  it('writes JSON that validates against the schema, and the validator rejects a broken one', () => {
    const file = join(dir, 'out.json');
    writeJson(res, file);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(validateResult(json)).toBeUndefined();
    expect(json.environment.cores).toBeGreaterThan(0);
    expect(json.environment.versions['onnxruntime-node']).toMatch(/^1\./);
    const broken = structuredClone(json);
    broken.runners[0].status = 'fine';
    delete broken.environment;
    const errors = validateResult(broken)!;
    expect(errors.join('\n')).toMatch(/environment/);
    expect(errors.join('\n')).toMatch(/runners\/0\/status/);
  });

  it('writes the Markdown report with its plots, and compares two runs', async () => {
    const report = join(dir, 'report');
    await writeReport(res, report);
    const md = readFileSync(join(report, 'README.md'), 'utf8');
    expect(md).toMatch(/\*\*Recommendation\*\*/);
    expect(md).toMatch(/\| ort-node-cuda \| unavailable \|/);
    for (const p of ['latency-cdf', 'throughput', 'accuracy']) {
      expect(readFileSync(join(report, `${p}.svg`), 'utf8')).toMatch(/<svg/);
      expect(existsSync(join(report, `${p}.png`))).toBe(true);
    }
    expect(markdownReport(res)).toMatch(/Measured peak/);
    const same = compareResults(res, res);
    expect(same.length).toBeGreaterThan(0);
    expect(same.every((c) => c.ratio === 1 && !c.regression)).toBe(true);
    const slower = structuredClone(res);
    for (const r of slower.runners) for (const o of r.offline ?? []) o.throughput.median /= 2;
    const cmp = compareResults(res, slower);
    expect(
      cmp.filter((c) => c.metric.startsWith('offline')).every((c) => c.regression && Math.abs(c.ratio - 0.5) < 1e-12),
    ).toBe(true);
  });

  it('labelled metrics: mAHP falls as classes mix (more for distant ones); balanced accuracy 2/3', () => {
    const hier = join(dir, 'h.txt');
    writeFileSync(hier, '10 1\n10 2\n11 3\n12 10\n12 11\n');
    const h = readHierarchy(hier);
    const ids = [1, 2, 3];
    const sims = { WUP: h.similarityMatrix(ids, 'WUP'), LCS_HEIGHT: h.similarityMatrix(ids, 'LCS_HEIGHT') };
    const labels = Int32Array.from({ length: 30 }, (_, i) => i % 3);
    const onehot = (shift: (c: number) => number) =>
      Float32Array.from({ length: 90 }, (_, j) => (j % 3 === shift(labels[Math.floor(j / 3)]) ? 1 : 0));
    // Embeddings: the class one-hot plus a small per-sample 4th value, so each query ranks itself first (the
    // reference's ideal ranking, quirk Q16, is exact only then) and its own class next.
    const embed = (shift: (c: number) => number) =>
      Float32Array.from({ length: 120 }, (_, j) => {
        const i = Math.floor(j / 4);
        return j % 4 === 3 ? 0.01 * (i + 1) : j % 4 === shift(labels[i]) ? 1 : 0;
      });
    const sidecar = {
      outputs: [
        { name: 'emb', kind: 'embedding' },
        { name: 'prob', kind: 'probabilities' },
      ],
    } as unknown as Sidecar;
    const data = { data: new Float32Array(0), n: 30, labels, sims, source: 'constructed' };
    const good = labelledMetrics({ emb: embed((c) => c), prob: onehot((c) => c) }, sidecar, data, 5);
    // The figure is @semembed/retrieval's AHP@k over LCS heights (the paper's mAHP), as evaluate-retrieval gives it.
    const direct = evaluateRetrieval(
      embed((c) => c),
      4,
      labels,
      sims,
      { ks: [], computeAhp: 5, computeAp: false, normalize: true },
    );
    expect(good.mAHP).toBeCloseTo(direct.mean['AHP@5 (LCS_HEIGHT)'], 12);
    expect(good.balancedAccuracy).toBe(1);
    const bad = labelledMetrics({ emb: embed((c) => c), prob: onehot((c) => (c === 2 ? 0 : c)) }, sidecar, data, 5);
    expect(bad.balancedAccuracy).toBeCloseTo(2 / 3, 12);
    // Classes 1 and 2 share a parent: mixing them up costs less than mixing up 1 and 3, and both cost something.
    const near = labelledMetrics(
      { emb: embed((c) => (c === 1 ? 0 : c)), prob: onehot((c) => c) },
      sidecar,
      data,
      5,
    ).mAHP!;
    const far = labelledMetrics(
      { emb: embed((c) => (c === 2 ? 0 : c)), prob: onehot((c) => c) },
      sidecar,
      data,
      5,
    ).mAHP!;
    expect(near).toBeLessThan(good.mAHP!);
    expect(far).toBeLessThan(near);
    expect(far).toBeGreaterThan(0);
  });

  it('percentiles use the nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 90), percentile(xs, 99), percentile(xs, 100)]).toEqual([
      50, 90, 99, 100,
    ]);
    expect(percentile([3], 99)).toBe(3);
  });
});

describe('bad input', () => {
  const cli = join(import.meta.dirname, '..', '..', '..', 'tools', 'cli', 'bin', 'semembed.js');
  const semembed = (...args: string[]) =>
    spawnSync(process.execPath, [cli, 'benchmark', ...args], { encoding: 'utf8', timeout: 60_000 });

  it('a missing model path: one line, exit 2', () => {
    const r = semembed(join(dir, 'nope.onnx'), '--quick');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^semembed: MODEL .*nope\.onnx: no such file/);
  });

  it('an unknown runtime: one line naming it and the known ones, exit 2, before any work', () => {
    const r = semembed(h5, '--runtimes', 'ort-node-cpu,tpu', '--json', join(dir, 'never.json'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--runtimes: unknown runtime 'tpu' \(known: .*ort-node-cpu/);
    expect(existsSync(join(dir, 'never.json'))).toBe(false);
  });

  it('library: an unknown scenario throws a BenchmarkError with exit status 2', async () => {
    await expect(runBenchmark({ model: h5, scenarios: ['burst' as never] })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/--scenarios: unknown scenario 'burst'/),
    });
  });
});

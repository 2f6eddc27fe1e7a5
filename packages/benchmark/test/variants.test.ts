import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertKeras } from '@semembed/converter';
import { readHierarchy } from '@semembed/hierarchy';
import { quantizeFile } from '@semembed/quantize';
import { loadModel, readSidecar } from '@semembed/runtime-node';
import {
  labelledMetrics,
  markdownReport,
  runBenchmark,
  terminalTable,
  validateResult,
  writeJson,
  type BenchmarkResult,
  type LabelledData,
  type RunnerReport,
} from '../src/index.js';
import { tinyH5, tmp } from './helpers.js';

// Precision variants in one run: fp16 and int8 variants of a tiny model made by @semembed/quantize, benchmarked
// beside the .h5 MODEL; every variant row compared with the same reference outputs (ORT CPU on MODEL, fp32).
// No timed assertions.

/** Seeded inputs in [-1, 1) so the test's labelled data is the same every run. */
function samples(n: number, size: number, seed = 7): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n * size }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

let dir: string;
let h5: string;
let fp16: string;
let int8: string;
let labelled: LabelledData;
let res: BenchmarkResult;
const row = (id: string): RunnerReport => {
  const r = res.runners.find((x) => x.id === id);
  if (!r) throw new Error(`no row for ${id} (rows: ${res.runners.map((x) => x.id).join(', ')})`);
  return r;
};

beforeAll(async () => {
  dir = tmp();
  h5 = await tinyH5(dir);
  // The variants come from an ONNX conversion of the same .h5, in a folder of its own (no sidecar beside the .h5).
  const v = join(dir, 'variants');
  mkdirSync(v);
  const onnx = join(v, 'tiny.onnx');
  await convertKeras({ h5, out: onnx });
  const sampleSize = 28 * 28;
  fp16 = (await quantizeFile(onnx, join(v, 'tiny.fp16.onnx'), { mode: 'fp16' })).out;
  int8 = (
    await quantizeFile(onnx, join(v, 'tiny.int8.onnx'), {
      mode: 'int8',
      calibration: [{ data: samples(32, sampleSize, 3), n: 32 }],
    })
  ).out;
  const hier = join(dir, 'h.txt');
  const lines = [0, 1, 2, 3, 4].map((c) => `10 ${c}`).concat([5, 6, 7, 8, 9].map((c) => `11 ${c}`));
  writeFileSync(hier, [...lines, '12 10', '12 11'].join('\n'));
  const h = readHierarchy(hier);
  const ids = Array.from({ length: 10 }, (_, i) => i);
  const n = 40;
  labelled = {
    data: samples(n, sampleSize),
    n,
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
    sims: { WUP: h.similarityMatrix(ids, 'WUP'), LCS_HEIGHT: h.similarityMatrix(ids, 'LCS_HEIGHT') },
    source: 'seeded samples',
  };
  res = await runBenchmark({
    model: h5,
    runtimes: ['ort-node-cpu', 'tfjs-wasm'],
    variants: [
      { name: 'fp16', onnx: fp16 },
      { name: 'int8', onnx: int8 },
    ],
    scenarios: ['single-stream', 'offline'],
    batches: [1],
    quick: true,
    limits: { repeats: 1, warmups: 1, queries: 3, offlineSeconds: 0.05 },
    accuracySamples: 6,
    labelled,
    noPeak: true,
    log: () => undefined,
  });
}, 120_000);

describe('semembed benchmark --variants', () => {
  it('runs each variant on the ONNX runtimes, compared with the fp32 reference of MODEL', () => {
    expect(res.settings.precision).toBe('fp32');
    expect(res.settings.variants.map((x) => x.name)).toEqual(['fp16', 'int8']);
    const ref = row('ort-node-cpu');
    expect(ref.variant).toBe('fp32');
    expect(ref.accuracy!.outputs.l2norm.maxAbsDiff).toBe(0);
    for (const [name, bound, cos] of [
      ['fp16', 1e-2, 0.999],
      ['int8', 0.5, 0.9],
    ] as const) {
      const r = row(`ort-node-cpu@${name}`);
      expect(r.status, r.reason).toBe('ok');
      expect(r.variant).toBe(name);
      expect(r.label).toMatch(new RegExp(`\\[${name}\\]$`));
      expect(r.singleStream!.queries).toBeGreaterThan(0);
      const acc = r.accuracy!;
      expect(acc.reference).toBe('ort-node-cpu');
      expect(acc.samples).toBe(6);
      expect(Object.keys(acc.outputs).sort()).toEqual([...res.model.outputs].sort());
      // A different model really ran (reduced precision changes the outputs), and it stays close to fp32.
      const max = Math.max(...Object.values(acc.outputs).map((o) => o.maxAbsDiff));
      expect(max).toBeGreaterThan(0);
      expect(max).toBeLessThan(bound);
      expect(Math.min(...Object.values(acc.outputs).map((o) => o.worstCosine))).toBeGreaterThan(cos);
      expect(acc.top1Agreement).toBeGreaterThanOrEqual(0);
      expect(acc.top1Agreement).toBeLessThanOrEqual(1);
    }
  });

  it('skips TF.js for the ONNX-only variants with a row reason (it still runs MODEL)', () => {
    expect(row('tfjs-wasm').status).toBe('ok');
    for (const name of ['fp16', 'int8']) {
      const r = row(`tfjs-wasm@${name}`);
      expect(r.status).toBe('unavailable');
      expect(r.reason).toMatch(new RegExp(`variant ${name} is ONNX only`));
    }
  });

  it("gives each variant's mAHP@k and balanced accuracy, as the variant file itself gives them", async () => {
    for (const name of ['fp16', 'int8']) {
      const file = name === 'fp16' ? fp16 : int8;
      const l = row(`ort-node-cpu@${name}`).accuracy!.labelled!;
      expect(l.samples).toBe(40);
      expect(l.k).toBe(39); // 40 samples: AHP@250 is clipped to the 39 others each query ranks
      // Independent run of the variant file through runtime-node on the same labelled samples.
      const m = await loadModel(file, { ep: 'cpu', warmup: false });
      try {
        const out = await m.run(labelled.data, labelled.n);
        const direct = labelledMetrics(
          Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data])),
          readSidecar(file.replace(/\.onnx$/, '.json')),
          labelled,
        );
        expect(l.balancedAccuracy).toBeCloseTo(direct.balancedAccuracy!, 12);
        expect(l.mAHP).toBeCloseTo(direct.mAHP!, 12);
      } finally {
        await m.release();
      }
    }
    expect(row('ort-node-cpu').accuracy!.labelled!.mAHP).toBeGreaterThan(0);
  });

  it('JSON (validated), the terminal table and the Markdown report carry the variant', () => {
    const file = join(dir, 'out.json');
    writeJson(res, file);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(validateResult(json)).toBeUndefined();
    expect(json.runners.map((r: RunnerReport) => r.variant)).toContain('int8');
    const broken = structuredClone(json);
    broken.runners[0].variant = 16;
    expect(validateResult(broken)!.join('\n')).toMatch(/runners\/0\/variant/);
    const table = terminalTable(res);
    expect(table.split('\n')[0]).toMatch(/^runtime\s+status\s+variant\s/);
    expect(table).toMatch(/ort-node-cpu@int8\s+ok\s+int8\s/);
    expect(table).toMatch(/tfjs-wasm@fp16\s+unavailable: variant fp16 is ONNX only/);
    expect(markdownReport(res)).toMatch(/\| ort-node-cpu@fp16 \| ok \| fp16 \|/);
  });
});

describe('bad --variants', () => {
  const cli = join(import.meta.dirname, '..', '..', '..', 'tools', 'cli', 'bin', 'semembed.js');
  const semembed = (...args: string[]) =>
    spawnSync(process.execPath, [cli, 'benchmark', ...args], { encoding: 'utf8', timeout: 60_000 });

  it('a value that is not NAME=FILE.onnx, or a missing file: one line naming the flag, exit 2', () => {
    for (const [value, message] of [
      ['int8', /^semembed: --variants: 'int8' is not NAME=FILE\.onnx/],
      [`int8=${join(dir, 'nope.onnx')}`, /^semembed: --variants int8=.*nope\.onnx: no such file/],
      [`fp16=${fp16},fp16=${int8}`, /^semembed: --variants fp16=.*: the name fp16 is given twice/],
    ] as const) {
      const r = semembed(h5, '--variants', value, '--json', join(dir, 'never.json'));
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

// The reference's own outputs (cvjena/semantic-embeddings evaluate_retrieval.hierarchical_precision on given
// inputs, packages/test-fixtures/fixtures/cvjena/reference/README.md): every mean and per-query value must match
// to 1e-12.
import { describe, expect, it } from 'vitest';
import { evaluateRankings, evaluateRetrieval, type MetricOptions } from '../src/index.js';
import { cifarSimilarities, loadCase, maxDiff, type RefCase } from './helpers.js';

const { classes, sims } = cifarSimilarities();
const classIndex = new Map(classes.map((c, i) => [c, i]));
const TOL = 1e-12;

function labelsOf(c: RefCase): Int32Array {
  return Int32Array.from(c.inputs.labels, (l) => classIndex.get(l)!);
}

function optionsOf(c: RefCase, run: RefCase['results']['runs'][number]): MetricOptions {
  return { ks: c.results.ks, computeAhp: run.compute_ahp, computeAp: true };
}

function compare(
  ours: { mean: Record<string, number>; perQuery: Record<string, Float64Array> },
  run: RefCase['results']['runs'][number],
) {
  const mean = maxDiff(ours.mean, run.metrics_mean);
  expect(mean.max, `mean ${mean.worst}`).toBeLessThanOrEqual(TOL);
  expect(Object.keys(ours.mean)).toEqual(Object.keys(run.metrics_mean));
  let checked = 0;
  for (const [name, values] of Object.entries(run.per_query)) {
    const mine = ours.perQuery[name];
    expect(mine, name).toBeDefined();
    expect(mine.length).toBe(values.length);
    for (let q = 0; q < values.length; q++) {
      const d = Math.abs(mine[q] - (values[q] as number));
      if (!(d <= TOL)) expect.fail(`${name} query ${q}: ours ${mine[q]}, reference ${values[q]}`);
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(0);
}

describe.each(['d_tiny', 'c_ties'])('%s on the reference saved rankings', (name) => {
  const c = loadCase(name);
  const labels = labelsOf(c);
  it.each(c.results.runs.map((r, i) => [`${r.rankings_key} ahp=${r.compute_ahp}`, i] as const))('%s', (_label, i) => {
    const run = c.results.runs[i];
    const rankings = c.results.rankings![run.rankings_key!];
    compare(evaluateRankings(rankings, labels, sims, optionsOf(c, run)), run);
  });
});

describe('d_tiny details', () => {
  const c = loadCase('d_tiny');
  it('AP of the singleton class is -0.0, as sklearn returns', () => {
    const run = c.results.runs[0];
    const res = evaluateRankings(c.results.rankings![run.rankings_key!], labelsOf(c), sims, optionsOf(c, run));
    const q = c.inputs.labels.indexOf(88);
    expect(Object.is(res.perQuery.AP[q], -0)).toBe(true);
    expect(Object.is(run.per_query.AP[q], -0)).toBe(true);
    expect(res.queriesWithoutPositives).toBe(1);
  });
});

// float64 features: the exact engine when forced and, by default (issue 13), as well
describe('a_noise_s0p1: features -> ranking -> metrics (float64)', () => {
  const c = loadCase('a_noise_s0p1');
  const labels = labelsOf(c);
  const features = Float64Array.from(c.inputs.features.flat());
  const cases = c.results.runs.flatMap((r, i) =>
    (['exact', undefined] as const).map((e) => {
      const name = `${e ?? 'default engine'} normalize=${r.normalize} ahp=${r.compute_ahp}`;
      return [name, i, e] as const;
    }),
  );
  it.each(cases)('%s', (_l, i, engine) => {
    const run = c.results.runs[i];
    const res = evaluateRetrieval(features, c.inputs.dim, labels, sims, {
      ...optionsOf(c, run),
      normalize: run.normalize,
      engine,
    });
    expect([res.engine, res.precision]).toEqual(['exact', 'float64']);
    compare(res, run);
  });

  it('float32 features go to FAISS by default', () => {
    const run = c.results.runs[0];
    const res = evaluateRetrieval(Float32Array.from(features), c.inputs.dim, labels, sims, {
      ...optionsOf(c, run),
      normalize: run.normalize,
    });
    expect([res.engine, res.precision]).toEqual(['faiss', 'float32']);
  });
});

describe('c_ties: features -> stable ranking reproduces the reference stable_argsort results', () => {
  const c = loadCase('c_ties');
  const labels = labelsOf(c);
  const features = Float64Array.from(c.inputs.features.flat());
  // squared distances of small integer vectors are exact integers in float32 and float64: both engines must
  // produce the stable order (ties by index) and hence exactly the reference's stable_argsort metrics
  const runs = c.results.runs.filter((r) => !r.normalize && r.ranking === 'stable_argsort');
  it.each(runs.flatMap((r) => (['exact', 'faiss'] as const).map((e) => [`${e} ahp=${r.compute_ahp}`, r, e] as const)))(
    '%s',
    (_l, run, engine) => {
      const res = evaluateRetrieval(features, c.inputs.dim, labels, sims, {
        ...optionsOf(c, run),
        normalize: false,
        engine,
      });
      expect(res.engine).toBe(engine);
      compare(res, run);
    },
  );
});

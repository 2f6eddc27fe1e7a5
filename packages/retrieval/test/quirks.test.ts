// The corrected ideal (option ideal: 'corrected') against the reference's own measurement of quirk Q16
// (metrics/quirk_effects.json: "fixed" = ideal built from all items except the query).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { evaluateRankings } from '../src/index.js';
import { cifarSimilarities, loadCase, readJson, REF } from './helpers.js';

const { classes, sims } = cifarSimilarities();
const classIndex = new Map(classes.map((c, i) => [c, i]));
const effects = readJson<Record<string, Record<string, { upstream: number; fixed: number; diff: number }>>>(
  join(REF, 'metrics', 'quirk_effects.json'),
);

describe.each(['c_ties', 'd_tiny'])('%s', (name) => {
  const c = loadCase(name);
  const labels = Int32Array.from(c.inputs.labels, (l) => classIndex.get(l)!);
  const keys = Object.keys(effects).filter((k) => k.startsWith(`${name}|`));
  it.each(keys)('%s: reference ideal = upstream, corrected ideal = fixed', (key) => {
    const rankings = c.results.rankings![key.slice(name.length + 1)];
    let checked = 0;
    for (const ideal of ['reference', 'corrected'] as const) {
      for (const computeAhp of [true, name === 'd_tiny' ? 3 : 250]) {
        const res = evaluateRankings(rankings, labels, sims, { ks: c.results.ks, computeAhp, computeAp: false, ideal });
        for (const [metric, v] of Object.entries(effects[key])) {
          if (!(metric in res.mean)) continue;
          const expected = ideal === 'reference' ? v.upstream : v.fixed;
          expect(Math.abs(res.mean[metric] - expected), `${ideal} ${metric}`).toBeLessThanOrEqual(1e-12);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(Object.keys(effects[key]).length * 2);
    // on c_ties the quirk is real: the two ideals give different results, and we reproduce both
    if (name === 'c_ties') expect(Object.values(effects[key]).some((v) => v.diff !== 0)).toBe(true);
  });
});

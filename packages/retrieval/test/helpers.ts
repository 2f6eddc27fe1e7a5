import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '@semembed/test-fixtures';
import type { Similarities } from '../src/index.js';

/** The reference implementation's outputs (metrics/, hierarchies/), shared with the CLI and hierarchy tests. */
export const REF = fixturePath('cvjena/reference');

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Class similarities exactly as the reference computes them, from its dumped integer matrices. */
export function cifarSimilarities(): { classes: number[]; sims: Similarities } {
  const h = readJson(join(REF, 'hierarchies', 'cifar.json'));
  const C = h.classes.length;
  const WUP = new Float64Array(C * C);
  const LCS_HEIGHT = new Float64Array(C * C);
  for (let i = 0; i < C; i++)
    for (let j = 0; j < C; j++) {
      LCS_HEIGHT[i * C + j] = 1.0 - h.lcs_height_int[i][j] / h.max_height;
      WUP[i * C + j] = (2.0 * h.lcs_depth_int[i][j]) / h.wup_den_int[i][j];
    }
  return { classes: h.classes, sims: { WUP, LCS_HEIGHT } };
}

export interface RefCase {
  inputs: { n: number; dim: number; labels: number[]; features: number[][] };
  results: {
    ks: number[];
    runs: {
      normalize: boolean;
      ranking: string;
      compute_ahp: boolean | number;
      metrics_mean: Record<string, number | null>;
      per_query: Record<string, (number | null)[]>;
      rankings_key?: string;
    }[];
    rankings?: Record<string, number[][]>;
  };
}

export function loadCase(name: string): RefCase {
  return {
    inputs: readJson(join(REF, 'metrics', `${name}.inputs.json`)),
    results: readJson(join(REF, 'metrics', `${name}.results.json`)),
  };
}

/** Largest |a - b| over the reference's metrics (null = NaN); -0.0 vs 0.0 counts as equal here. */
export function maxDiff(
  ours: Record<string, number>,
  ref: Record<string, number | null>,
): { max: number; worst: string } {
  let max = 0;
  let worst = '';
  for (const [name, value] of Object.entries(ref)) {
    const v = ours[name];
    if (v === undefined) return { max: Infinity, worst: `missing ${name}` };
    const d = value === null ? (Number.isNaN(v) ? 0 : Infinity) : Math.abs(v - value);
    if (!(d <= max)) {
      max = d;
      worst = name;
    }
  }
  return { max, worst };
}

// The figure of the hierarchical-mistakes literature (Bertinetto et al. 2020, Fig. 1; Karthik et al. 2021):
// mistake severity against top-1 error, one point per classifier, with bootstrap intervals as error bars.
import type { TopLevelSpec } from 'vega-lite';
import type { Interval } from './bootstrap.js';

export interface MistakePoint {
  label: string;
  error: Interval;
  severity: Interval;
}

const color = { field: 'label', type: 'nominal', title: null, sort: null, legend: { labelLimit: 480 } } as const;

/** A rule from `from` to `to` along `along`, at `at` on the other axis. */
function errorBar(along: 'x' | 'y', from: string, to: string, other: 'x' | 'y', at: string) {
  return {
    mark: { type: 'rule' as const },
    encoding: {
      [along]: { field: from, type: 'quantitative' as const },
      [`${along}2`]: { field: to },
      [other]: { field: at, type: 'quantitative' as const },
      color,
    },
  };
}

export function mistakeSeveritySpec(points: MistakePoint[], title = 'Mistake severity vs top-1 error'): TopLevelSpec {
  const values = points.map((p) => ({
    label: p.label,
    error: p.error.estimate,
    errLo: p.error.lo,
    errHi: p.error.hi,
    severity: p.severity.estimate,
    sevLo: p.severity.lo,
    sevHi: p.severity.hi,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 480,
    height: 320,
    background: 'white',
    title,
    data: { values },
    layer: [
      errorBar('x', 'errLo', 'errHi', 'y', 'severity'),
      errorBar('y', 'sevLo', 'sevHi', 'x', 'error'),
      {
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          x: {
            field: 'error',
            type: 'quantitative',
            title: 'Top-1 error',
            axis: { format: '.1%' },
            scale: { zero: false },
          },
          y: {
            field: 'severity',
            type: 'quantitative',
            title: 'Mistake severity (mean LCS height of mistakes, levels)',
            scale: { zero: false },
          },
          color,
          shape: { field: 'label', type: 'nominal', title: null, sort: null, legend: { labelLimit: 480 } },
        },
      },
    ],
  };
}

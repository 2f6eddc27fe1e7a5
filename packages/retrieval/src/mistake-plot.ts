// The figure of the hierarchical-mistakes literature (Bertinetto et al. 2020, Fig. 1; Karthik et al. 2021):
// mistake severity against top-1 error, one point per classifier, with bootstrap intervals as error bars.
import type { TopLevelSpec } from 'vega-lite';
import type { Interval } from './bootstrap.js';

export interface MistakePoint {
  label: string;
  error: Interval;
  severity: Interval;
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
  const color = { field: 'label', type: 'nominal', title: null, sort: null, legend: { labelLimit: 480 } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 480,
    height: 320,
    background: 'white',
    title,
    data: { values },
    layer: [
      {
        mark: { type: 'rule' },
        encoding: {
          x: { field: 'errLo', type: 'quantitative' },
          x2: { field: 'errHi' },
          y: { field: 'severity', type: 'quantitative' },
          color,
        },
      },
      {
        mark: { type: 'rule' },
        encoding: {
          y: { field: 'sevLo', type: 'quantitative' },
          y2: { field: 'sevHi' },
          x: { field: 'error', type: 'quantitative' },
          color,
        },
      },
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

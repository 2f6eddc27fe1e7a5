// Plots of the reference's plot_performance: hierarchical precision P@k for k = 1..plot_max per feature set, and
// a bar chart of mAHP; vega-lite -> vega -> SVG (headless, no canvas), PNG rendered from the SVG by sharp.
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';
import sharp from 'sharp';
import { writeFileAtomic } from '@semembed/formats';

export interface PlotFiles {
  svg: string;
  png: string;
}

export function precisionCurveSpec(
  perf: Map<string, Record<string, number>>,
  plotMax: number,
  precType: string,
): TopLevelSpec {
  const values: { label: string; k: number; precision: number }[] = [];
  let minPrec = 1.0;
  for (const [label, metrics] of perf)
    for (let k = 1; k <= plotMax; k++) {
      const precision = metrics[`P@${k} (${precType})`];
      values.push({ label, k, precision });
      minPrec = Math.min(minPrec, precision);
    }
  // as the reference: y from 0, or from the 0.05 step below the minimum when that is >= 0.3
  const floor = Math.floor(minPrec * 20) / 20;
  const yMin = floor >= 0.3 ? floor : 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 560,
    height: 360,
    background: 'white',
    title: `Hierarchical precision (${precType})`,
    data: { values },
    mark: { type: 'line', clip: true },
    encoding: {
      x: { field: 'k', type: 'quantitative', title: 'k', scale: { domain: [0, plotMax], nice: false } },
      y: { field: 'precision', type: 'quantitative', title: 'Hierarchical Precision', scale: { domain: [yMin, 1] } },
      color: { field: 'label', type: 'nominal', title: null, sort: null },
    },
  };
}

export function mahpBarSpec(perf: Map<string, Record<string, number>>, metric: string): TopLevelSpec {
  const values = [...perf].map(([label, m]) => ({ label, mahp: m[metric] }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 560,
    height: { step: 36 },
    background: 'white',
    title: `Mean average hierarchical precision: ${metric}`,
    data: { values },
    encoding: {
      y: { field: 'label', type: 'nominal', title: null, sort: null },
      x: {
        field: 'mahp',
        type: 'quantitative',
        title: 'Mean Average Hierarchical Precision',
        scale: { domain: [0, 1] },
      },
    },
    layer: [
      { mark: { type: 'bar' }, encoding: { color: { field: 'label', type: 'nominal', legend: null, sort: null } } },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: { text: { field: 'mahp', type: 'quantitative', format: '.1%' } },
      },
    ],
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes `<base>.svg` and `<base>.png` (2x scale). */
export async function writePlot(spec: TopLevelSpec, base: string): Promise<PlotFiles> {
  const svg = await renderSvg(spec);
  const png = await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
  writeFileAtomic(`${base}.svg`, svg);
  writeFileAtomic(`${base}.png`, png);
  return { svg: `${base}.svg`, png: `${base}.png` };
}

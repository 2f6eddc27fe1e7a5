import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Argv } from 'yargs';
import type { ClassId } from '@semembed/hierarchy';
import type { ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';
import {
  bootstrapOptions,
  intOption,
  showProgress,
  withLabelSourceOptions,
  withProgressOptions,
  withTaxonomyOptions,
  yesNoListOption,
} from '../options.js';
import { checkInputs, checkOutputs, pathArgs, withForceOption } from '../write-safety.js';

export const command = 'evaluate-retrieval';
export const describe =
  'Hierarchical precision, mAHP(@K) and mAP of nearest-neighbour retrieval (reference: evaluate_retrieval.py)';

export const builder = (y: Argv) =>
  withProgressOptions(
    withLabelSourceOptions(withTaxonomyOptions(withForceOption(y)))
      .option('classes_from', {
        type: 'string',
        describe: 'Class embedding file whose ind2label lists the classes; labels are then indices into it',
      })
      .option('feat', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'Features: .npy (rows = samples) or a pickled dump {"feat": {id: vector}}; repeatable',
      })
      .option('label', {
        type: 'string',
        array: true,
        describe: 'Name of the corresponding --feat (default: its file name)',
      })
      .option(
        'norm',
        yesNoListOption(
          'norm',
          'yes/no per --feat: L2-normalise and rank by dot product (default no: squared Euclidean)',
        ),
      )
      .option(
        'plot_max',
        intOption('plot_max', {
          min: 0,
          default: 250,
          describe: 'P@k for k = 1..plot_max (plots and CSV); 0 disables plotting',
        }),
      )
      .option('prec_type', {
        choices: ['LCS_HEIGHT', 'WUP'] as const,
        default: 'LCS_HEIGHT' as const,
        describe: 'Similarity for the CSV and plots',
      })
      .option(
        'clip_ahp',
        intOption('clip_ahp', {
          min: 0,
          describe: 'AHP@K: clip the ranking at K (default: AHP over the whole ranking)',
        }),
      )
      .option('csv', { type: 'string', describe: 'Write P@k (prec_type) per feature set as CSV (k;label...)' })
      .option('json', { type: 'string', describe: 'Write all mean metrics as {label: {metric: value}}' })
      .option('plots', {
        type: 'string',
        describe: 'Folder for the plots: hierarchical_precision.{svg,png}, mahp.{svg,png}',
      })
      .option('engine', {
        choices: ['auto', 'faiss', 'exact'] as const,
        default: 'auto' as const,
        describe: 'Search engine: FAISS (float32, BLAS) or exact float64 JS; auto = FAISS if it loads',
      })
      .option('corrected_ideal', {
        type: 'boolean',
        default: false,
        describe: 'Ideal ranking without the query (the reference subtracts 1.0 instead, quirk Q16)',
      })
      .option('hier_metrics', {
        type: 'boolean',
        default: false,
        describe:
          'Beyond the reference: nDCG@k (class similarity as gain) and mean LCS height@k, k = 1, 10, 50, 100, clip_ahp; a second table',
      })
      .options(
        bootstrapOptions(
          'Resamples for 95% bootstrap intervals over the queries (e.g. 1000; 0: none); with two or more --feat, paired tests of the first two',
        ),
      )
      .option(
        'crm',
        yesNoListOption(
          'crm',
          'yes/no per --feat: the features are class probabilities (columns: --classes_from or class ids 0..C-1); also rank by expected class similarity',
        ),
      )
      .option(
        'threads',
        intOption('threads', { min: 1, describe: 'Threads scoring the rankings (default: the available cores)' }),
      )
      .example(
        '$0 evaluate-retrieval --dataset CIFAR-100 --data_root cifar ' +
          '--hierarchy hierarchies/Cifar-Hierarchy/cifar.parent-child.txt --feat feat.npy --labels labels.txt --clip_ahp 250',
        'mAHP@250 and mAP of one feature set',
      ),
    'progress bar',
  );

/** evaluate_retrieval.py: every test image queries all others; hierarchical precision, mAHP, mAP per feature set. */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  const inputs = pathArgs(a, ['hierarchy', 'labels', 'classes_from', 'feat']);
  checkInputs(inputs);
  const plots =
    a.plots && a.plot_max > 0
      ? ['hierarchical_precision', 'mahp'].flatMap((p) => ['svg', 'png'].map((e) => join(a.plots!, `${p}.${e}`)))
      : [];
  checkOutputs([...pathArgs(a, ['csv', 'json']), ...plots.map((p) => ({ path: p, flag: '--plots' }))], inputs, a.force);
  const [{ pyFloat }, { writeFileAtomic }, retrieval, { loadHierarchyAndTruth, nth, progressBar }] = await Promise.all([
    import('@semembed/hierarchy'),
    import('@semembed/formats'),
    import('@semembed/retrieval'),
    import('./retrieval-common.js'),
  ]);
  const {
    evaluateRetrieval,
    formatCsv,
    formatTable,
    mahpBarSpec,
    precisionCurveSpec,
    readFeatures,
    referenceKs,
    tableMetrics,
    writePlot,
  } = retrieval;
  const beyond = a.hier_metrics || a.bootstrap > 0;
  const feats = a.feat;
  const names = a.label;
  const norms = a.norm;
  const clip = a.clip_ahp ? a.clip_ahp : undefined;
  const { hierarchy, truth, source, ind2label } = await loadHierarchyAndTruth(a);
  const classes: ClassId[] = [...new Set(truth)];
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const labels = Int32Array.from(truth, (c) => classIndex.get(c)!);
  const sims = {
    WUP: hierarchy.similarityMatrix(classes, 'WUP'),
    LCS_HEIGHT: hierarchy.similarityMatrix(classes, 'LCS_HEIGHT'),
  };
  const ks = referenceKs(a.plot_max);
  const perf = new Map<string, Record<string, number>>();
  const perQuery = new Map<string, Record<string, Float64Array>>();
  const graded = beyond
    ? {
        ks: retrieval.defaultGradedKs(Math.min(clip ?? truth.length, truth.length - 1), clip),
        maxHeight: hierarchy.maxHeight,
      }
    : undefined;
  for (let i = 0; i < feats.length; i++) {
    const path = feats[i];
    const name = nth(names, i, basename(path, extname(path)));
    if (perf.has(name)) throw new UsageError(`--label ${name} is used twice`);
    const normalize = nth(norms, i, false);
    const fs = readFeatures(path);
    if (fs.ids) {
      const ok = fs.ids.every((id, r) => id === r);
      if (!ok)
        throw new UsageError(`${path}: feature ids must be the image indices 0..${fs.n - 1} (they index the labels)`);
    }
    if (fs.n !== truth.length)
      throw new UsageError(`${path} has ${fs.n} feature rows but ${source} has ${truth.length} labels`);
    // --crm: the same class probabilities ranked by expected similarity p_q^T S p_g as a second set
    const crm = nth(a.crm, i, false);
    const columns = crm ? (ind2label ?? Array.from({ length: fs.dim }, (_, c) => c)) : [];
    if (crm && columns.length !== fs.dim)
      throw new UsageError(`${path}: ${fs.dim} probability columns but --classes_from lists ${columns.length} classes`);
    for (const id of columns)
      if (!hierarchy.has(id))
        throw new UsageError(
          `--crm ${path}: class ${String(id)} of the probability columns is not in the hierarchy ${a.hierarchy}`,
        );
    const runs: [string, { normalize?: boolean; innerProduct?: boolean; queries?: Float64Array }][] = [
      [name, { normalize }],
    ];
    if (crm) {
      const S = hierarchy.similarityMatrix(columns, 'LCS_HEIGHT');
      runs.push([
        `${name} (expected similarity)`,
        { innerProduct: true, queries: retrieval.expectedSimilarityQueries(fs.data, fs.dim, S) },
      ]);
    }
    for (const [runName, extra] of runs) {
      if (perf.has(runName)) throw new UsageError(`--label ${runName} is used twice`);
      const bar = progressBar(showProgress(a), runName);
      const res = (() => {
        try {
          return evaluateRetrieval(fs.data, fs.dim, labels, sims, {
            ks,
            computeAhp: clip ?? true,
            computeAp: true,
            ideal: a.corrected_ideal ? 'corrected' : 'reference',
            engine: a.engine,
            graded,
            threads: a.threads,
            onProgress: (d, t) => bar.update(d, t),
            ...extra,
          });
        } finally {
          bar.stop();
        }
      })();
      console.error(
        `${runName}: ${fs.n} x ${fs.dim} features, ${classes.length} classes, ${res.engine} search ` +
          `(${res.precision}), ${res.kernel} kernel, ${res.threads} thread(s), ${res.seconds.toFixed(2)} s`,
      );
      if (res.queriesWithoutPositives > 0)
        console.error(
          `warning: ${res.queriesWithoutPositives} queries have no other sample of their class: their AP is -0.0 (as sklearn), counted in mAP`,
        );
      perf.set(runName, res.mean);
      perQuery.set(runName, res.perQuery);
    }
  }
  process.stdout.write(formatTable(perf, tableMetrics(clip)));
  const extra = beyond
    ? beyondOutput(retrieval, perf, perQuery, clip, graded!.ks, { resamples: a.bootstrap, seed: a.seed })
    : undefined;
  if (extra) process.stdout.write(extra.text);
  if (a.csv) writeFileAtomic(a.csv, formatCsv(perf, a.prec_type, pyFloat));
  if (a.json) {
    const out: Record<string, Record<string, number | null>> = {};
    for (const [name, m] of perf)
      out[name] = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
    Object.assign(out, extra?.json);
    writeFileAtomic(a.json, JSON.stringify(out, null, 1) + '\n');
  }
  if (a.plots && a.plot_max > 0) {
    mkdirSync(a.plots, { recursive: true });
    await writePlot(precisionCurveSpec(perf, a.plot_max, a.prec_type), join(a.plots, 'hierarchical_precision'));
    await writePlot(mahpBarSpec(perf, `${clip ? `AHP@${clip}` : 'AHP'} (${a.prec_type})`), join(a.plots, 'mahp'));
  }
}

/** --hier_metrics / --bootstrap: the metrics beyond the reference with intervals, paired tests of the first two sets. */
function beyondOutput(
  retrieval: typeof import('@semembed/retrieval'),
  perf: Map<string, Record<string, number>>,
  perQuery: Map<string, Record<string, Float64Array>>,
  clip: number | undefined,
  gradedKs: number[],
  bootstrap: { resamples: number; seed: number },
): { text: string; json?: Record<string, unknown> } {
  const ahp = clip ? `AHP@${clip}` : 'AHP';
  const metrics = [`${ahp} (LCS_HEIGHT)`, 'AP', ...retrieval.gradedMetricNames(gradedKs)];
  const rows = new Map<string, Record<string, number | import('@semembed/retrieval').Interval>>();
  for (const [name, pq] of perQuery)
    rows.set(name, bootstrap.resamples > 0 ? retrieval.retrievalIntervals(pq, metrics, bootstrap) : perf.get(name)!);
  const what =
    bootstrap.resamples > 0
      ? ` with 95% bootstrap intervals (${bootstrap.resamples} resamples, seed ${bootstrap.seed})`
      : '';
  let text = `Beyond the reference${what}:\n${retrieval.formatIntervalTable(rows, metrics)}`;
  if (bootstrap.resamples === 0) return { text };
  const [a, b] = [...perQuery.keys()];
  const comparisons =
    b === undefined
      ? []
      : retrieval.compareSets(
          { label: a, perQuery: perQuery.get(a)! },
          { label: b, perQuery: perQuery.get(b)! },
          metrics,
          bootstrap,
        );
  for (const c of comparisons) text += `${retrieval.formatComparison(c)}\n`;
  if (comparisons.length) text += '\n';
  return { text, json: { intervals: Object.fromEntries(rows), comparisons } };
}

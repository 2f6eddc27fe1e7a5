import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Argv } from 'yargs';
import type { ClassId } from '@semembed/hierarchy';
import { defineCommand, type ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';
import { intOption, labelsSourceCheck, showProgress, withProgressOptions, withTaxonomyOptions, yesNoListOption } from '../options.js';
import { checkInputs, checkOutputs, withForceOption } from '../write-safety.js';

const builder = (y: Argv) =>
  withProgressOptions(
    withTaxonomyOptions(withForceOption(y))
      .option('dataset', { type: 'string', describe: 'Dataset name (only read when --labels is not given)' })
      .option('data_root', { type: 'string', describe: 'Root directory of the dataset' })
      .option('classes_from', { type: 'string', describe: 'Class embedding file whose ind2label lists the classes; labels are then indices into it' })
      .option('feat', { type: 'string', array: true, demandOption: true, describe: 'Features: .npy (rows = samples) or a pickled dump {"feat": {id: vector}}; repeatable' })
      .option('label', { type: 'string', array: true, describe: 'Name of the corresponding --feat (default: its file name)' })
      .option('norm', yesNoListOption('norm', 'yes/no per --feat: L2-normalise and rank by dot product (default no: squared Euclidean)'))
      .option('labels', { type: 'string', describe: 'Class labels in feature row order: .npy of integers or text, one per line' })
      .option('plot_max', intOption('plot_max', { min: 0, default: 250, describe: 'P@k for k = 1..plot_max (plots and CSV); 0 disables plotting' }))
      .option('prec_type', { choices: ['LCS_HEIGHT', 'WUP'] as const, default: 'LCS_HEIGHT' as const, describe: 'Similarity for the CSV and plots' })
      .option('clip_ahp', intOption('clip_ahp', { min: 0, describe: 'AHP@K: clip the ranking at K (default: AHP over the whole ranking)' }))
      .option('csv', { type: 'string', describe: 'Write P@k (prec_type) per feature set as CSV (k;label...)' })
      .option('json', { type: 'string', describe: 'Write all mean metrics as {label: {metric: value}}' })
      .option('plots', { type: 'string', describe: 'Folder for the plots: hierarchical_precision.{svg,png}, mahp.{svg,png}' })
      .option('engine', { choices: ['auto', 'faiss', 'exact'] as const, default: 'auto' as const, describe: 'Search engine: FAISS (float32, BLAS) or exact float64 JS; auto = FAISS if it loads' })
      .option('corrected_ideal', { type: 'boolean', default: false, describe: 'Ideal ranking without the query (the reference subtracts 1.0 instead, quirk Q16)' })
      .check(labelsSourceCheck)
      .example(
        '$0 evaluate-retrieval --dataset CIFAR-100 --data_root cifar --hierarchy hierarchies/Cifar-Hierarchy/cifar.parent-child.txt --feat feat.npy --labels labels.txt --clip_ahp 250',
        'mAHP@250 and mAP of one feature set',
      ),
    'progress bar',
  );

/** evaluate_retrieval.py: every test image queries all others; hierarchical precision, mAHP, mAP per feature set. */
export const evaluateRetrievalCommand = defineCommand({
  command: 'evaluate-retrieval',
  describe: 'Hierarchical precision, mAHP(@K) and mAP of nearest-neighbour retrieval (reference: evaluate_retrieval.py)',
  builder,
  handler: run,
});

async function run(a: ArgsOf<typeof builder>): Promise<void> {
  const inputs = [
    { path: a.hierarchy, flag: '--hierarchy' },
    { path: a.labels, flag: '--labels' },
    { path: a.classes_from, flag: '--classes_from' },
    ...a.feat.map((f) => ({ path: f, flag: '--feat' })),
  ];
  checkInputs(inputs);
  const plots = a.plots && a.plot_max > 0 ? ['hierarchical_precision', 'mahp'].flatMap((p) => ['svg', 'png'].map((e) => join(a.plots!, `${p}.${e}`))) : [];
  const outputs = [a.csv, a.json].map((p, i) => ({ path: p === '-' ? undefined : p, flag: i ? '--json' : '--csv' }));
  checkOutputs([...outputs, ...plots.map((p) => ({ path: p, flag: '--plots' }))], inputs, a.force);
  const [{ pyFloat, readHierarchy }, { writeFileAtomic }, retrieval, { checkInHierarchy, loadTruth, nth, progressBar }] = await Promise.all([
    import('@semembed/hierarchy'),
    import('@semembed/formats'),
    import('@semembed/retrieval'),
    import('./retrieval-common.js'),
  ]);
  const { evaluateRetrieval, formatCsv, formatTable, mahpBarSpec, precisionCurveSpec, readFeatures, referenceKs, tableMetrics, writePlot } = retrieval;
  const feats = a.feat;
  const names = a.label;
  const norms = a.norm;
  const clip = a.clip_ahp ? a.clip_ahp : undefined;
  const hierarchy = readHierarchy(a.hierarchy, { isA: a.is_a, strIds: a.str_ids });
  const { truth, source } = await loadTruth(a);
  checkInHierarchy(truth, hierarchy, source, a.hierarchy);
  const classes: ClassId[] = [...new Set(truth)];
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const labels = Int32Array.from(truth, (c) => classIndex.get(c)!);
  const sims = { WUP: hierarchy.similarityMatrix(classes, 'WUP'), LCS_HEIGHT: hierarchy.similarityMatrix(classes, 'LCS_HEIGHT') };
  const ks = referenceKs(a.plot_max);
  const perf = new Map<string, Record<string, number>>();
  for (let i = 0; i < feats.length; i++) {
    const path = feats[i];
    const name = nth(names, i, basename(path, extname(path)));
    if (perf.has(name)) throw new UsageError(`--label ${name} is used twice`);
    const normalize = nth(norms, i, false);
    const fs = readFeatures(path);
    if (fs.ids) {
      const ok = fs.ids.every((id, r) => id === r);
      if (!ok) throw new UsageError(`${path}: feature ids must be the image indices 0..${fs.n - 1} (they index the labels)`);
    }
    if (fs.n !== truth.length) throw new UsageError(`${path} has ${fs.n} feature rows but ${source} has ${truth.length} labels`);
    const bar = progressBar(showProgress(a), name);
    const res = (() => {
      try {
        return evaluateRetrieval(fs.data, fs.dim, labels, sims, {
          ks,
          computeAhp: clip ?? true,
          computeAp: true,
          ideal: a.corrected_ideal ? 'corrected' : 'reference',
          normalize,
          engine: a.engine,
          onProgress: (d, t) => bar.update(d, t),
        });
      } finally {
        bar.stop();
      }
    })();
    console.error(`${name}: ${fs.n} x ${fs.dim} features, ${classes.length} classes, ${res.engine} search, ${res.seconds.toFixed(2)} s`);
    if (res.queriesWithoutPositives > 0)
      console.error(`warning: ${res.queriesWithoutPositives} queries have no other sample of their class: their AP is -0.0 (as sklearn), counted in mAP`);
    perf.set(name, res.mean);
  }
  process.stdout.write(formatTable(perf, tableMetrics(clip)));
  if (a.csv) writeFileAtomic(a.csv, formatCsv(perf, a.prec_type, pyFloat));
  if (a.json) {
    const out: Record<string, Record<string, number | null>> = {};
    for (const [name, m] of perf) out[name] = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
    writeFileAtomic(a.json, JSON.stringify(out, null, 1) + '\n');
  }
  if (a.plots && a.plot_max > 0) {
    mkdirSync(a.plots, { recursive: true });
    await writePlot(precisionCurveSpec(perf, a.plot_max, a.prec_type), join(a.plots, 'hierarchical_precision'));
    await writePlot(mahpBarSpec(perf, `${clip ? `AHP@${clip}` : 'AHP'} (${a.prec_type})`), join(a.plots, 'mahp'));
  }
}

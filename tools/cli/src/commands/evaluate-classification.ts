import { basename, extname } from 'node:path';
import type { Argv } from 'yargs';
import type { ClassId } from '@semembed/hierarchy';
import type { ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';
import { bootstrapOptions, withLabelSourceOptions, withTaxonomyOptions, yesNoListOption } from '../options.js';
import { checkInputs, checkOutputs, pathArgs, withForceOption } from '../write-safety.js';

export const command = 'evaluate-classification';
export const describe =
  'Flat, top-5, hierarchical and balanced accuracy (reference: evaluate_classification_accuracy.py)';

export const builder = (y: Argv) =>
  withLabelSourceOptions(withTaxonomyOptions(withForceOption(y)))
    .option('classes_from', {
      type: 'string',
      describe: 'Class embedding file whose ind2label names the output columns / label indices',
    })
    .option('feat', {
      type: 'string',
      array: true,
      demandOption: true,
      describe: 'Model outputs per test sample (.npy or pickled dump): probabilities or embeddings; repeatable',
    })
    .option('label', { type: 'string', array: true, describe: 'Name of the corresponding --feat' })
    .option(
      'prob_features',
      yesNoListOption(
        'prob_features',
        'yes/no per --feat: the features are class probabilities (rank columns by score)',
      ),
    )
    .option('centroids', {
      type: 'string',
      array: true,
      describe: 'Class embedding file per --feat: classify by the nearest class embedding (squared Euclidean)',
    })
    .option('json', { type: 'string', describe: 'Write the metrics as {label: {metric: value}}' })
    .option('crm', {
      type: 'boolean',
      default: false,
      describe:
        'Also decide by conditional risk minimisation (least expected LCS height under the probabilities; ' +
        'Karthik et al. 2021) for --prob_features sets: "<label> (CRM)"',
    })
    .options(bootstrapOptions('Resamples for 95% bootstrap intervals of the mistake metrics (e.g. 1000; 0: none)'));

/**
 * evaluate_classification_accuracy.py on extracted outputs: class probabilities (--prob_features yes) or
 * embeddings classified by the nearest class embedding (--centroids). The reference's linear-SVM path needs
 * Keras feature extraction of the training set and is not offered.
 */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  const inputs = pathArgs(a, ['hierarchy', 'labels', 'classes_from', 'feat', 'centroids']);
  checkInputs(inputs);
  checkOutputs(pathArgs(a, ['json']), inputs, a.force);
  const [{ readClassEmbedding }, { writeFileAtomic }, retrieval, { loadHierarchyAndTruth, nth, referenceAccuracies }] =
    await Promise.all([
      import('@semembed/hierarchy'),
      import('@semembed/formats'),
      import('@semembed/retrieval'),
      import('./retrieval-common.js'),
    ]);
  const { CLASSIFICATION_METRICS, formatTable, rankClasses, readFeatures } = retrieval;
  const feats = a.feat;
  const names = a.label;
  const probs = a.prob_features;
  const centroids = a.centroids;
  const { hierarchy, truth, source, ind2label } = await loadHierarchyAndTruth(a);
  const perf = new Map<string, Record<string, number>>();
  // beyond the reference: top-1 error, mistake severity, hierarchical distance @k (Bertinetto et al. 2020)
  const mistakes = new Map<string, Record<string, number | import('@semembed/retrieval').Interval>>();
  let mistakeNames: string[] = [];
  for (let i = 0; i < feats.length; i++) {
    const path = feats[i];
    const name = nth(names, i, basename(path, extname(path)));
    const fs = readFeatures(path);
    if (fs.n !== truth.length)
      throw new UsageError(`${path} has ${fs.n} rows but ${source} has ${truth.length} labels`);
    const cfile = nth(centroids, i, '');
    // 20 columns: top-5 for the reference's accuracies, hierarchical distance up to @20
    const depth = 20;
    let ranked;
    let columnIds: ClassId[];
    if (nth(probs, i, false)) {
      ranked = rankClasses(fs.data, fs.dim, { kind: 'prob' }, depth);
      columnIds = ind2label ?? Array.from({ length: fs.dim }, (_, c) => c);
      if (columnIds.length !== fs.dim)
        throw new UsageError(
          `${path}: ${fs.dim} probability columns but --classes_from lists ${columnIds.length} classes`,
        );
    } else if (cfile) {
      const emb = readClassEmbedding(cfile);
      ranked = rankClasses(fs.data, fs.dim, { kind: 'centroids', centroids: emb.embedding, rows: emb.rows }, depth);
      columnIds = emb.ind2label;
    } else {
      throw new UsageError(
        `${path}: give --prob_features yes (class probabilities) or --centroids E (nearest class embedding); the reference's SVM path is not supported`,
      );
    }
    for (const id of columnIds)
      if (!hierarchy.has(id))
        throw new UsageError(`class ${String(id)} of the output columns is not in the hierarchy ${a.hierarchy}`);
    const col = new Map(columnIds.map((c, j) => [c, j]));
    const truthCols = Int32Array.from(truth, (t) => col.get(t) ?? -1);
    const levels = retrieval.lcsLevels(hierarchy.similarityMatrix(columnIds, 'LCS_HEIGHT'), hierarchy.maxHeight);
    const distKs = retrieval.defaultDistanceKs(columnIds.length);
    const decisions: [string, { ranked: Int32Array; k: number }][] = [[name, ranked]];
    if (a.crm && nth(probs, i, false))
      decisions.push([`${name} (CRM)`, retrieval.crmRank(fs.data, fs.dim, levels, depth)]);
    const outside = truthCols.indexOf(-1);
    if (outside >= 0)
      console.error(
        `warning: ${source}: label ${String(truth[outside])} (row ${outside}) is not a class of ${path}: no mistake metrics for it`,
      );
    for (const [label, r] of decisions) {
      const metrics = referenceAccuracies(r, columnIds, truth, hierarchy);
      perf.set(label, metrics);
      if (outside >= 0) continue;
      const m = retrieval.mistakeMetrics(r.ranked, r.k, truthCols, levels, distKs);
      mistakeNames = m.names;
      Object.assign(metrics, m.mean);
      mistakes.set(
        label,
        a.bootstrap > 0 ? retrieval.mistakeIntervals(m, { resamples: a.bootstrap, seed: a.seed }) : m.mean,
      );
    }
  }
  process.stdout.write(formatTable(perf, CLASSIFICATION_METRICS));
  const ci = a.bootstrap > 0 ? ` with 95% bootstrap intervals (${a.bootstrap} resamples, seed ${a.seed})` : '';
  if (mistakes.size)
    process.stdout.write(
      `Mistakes (LCS heights in tree levels)${ci}:\n${retrieval.formatIntervalTable(mistakes, mistakeNames)}`,
    );
  const json: Record<string, unknown> = Object.fromEntries(perf);
  if (a.bootstrap > 0) json.intervals = Object.fromEntries(mistakes);
  if (a.json)
    writeFileAtomic(
      a.json,
      JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1) + '\n',
    );
}

import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Argv } from 'yargs';
import { pyFloat, readHierarchy, type ClassId } from '@semembed/hierarchy';
import { writeFileAtomic } from '@semembed/formats';
import {
  evaluateRetrieval,
  formatCsv,
  formatTable,
  mahpBarSpec,
  precisionCurveSpec,
  readFeatures,
  referenceKs,
  tableMetrics,
  writePlot,
  type EngineChoice,
} from '@semembed/retrieval';
import type { Command } from '../index.js';
import { withTaxonomyOptions } from '../options.js';
import { UsageError } from '../errors.js';
import { asArray, checkInHierarchy, loadTruth, nth, progressBar, str2bool } from './retrieval-common.js';

interface Args {
  dataset?: string;
  data_root?: string;
  hierarchy: string;
  is_a: boolean;
  str_ids: boolean;
  classes_from?: string;
  feat: unknown;
  label?: unknown;
  norm?: unknown;
  labels?: string;
  plot_max: number;
  prec_type: 'LCS_HEIGHT' | 'WUP';
  clip_ahp?: number;
  csv?: string;
  json?: string;
  plots?: string;
  engine: EngineChoice;
  corrected_ideal: boolean;
  no_progress: boolean;
}

/** evaluate_retrieval.py: every test image queries all others; hierarchical precision, mAHP, mAP per feature set. */
export const evaluateRetrievalCommand: Command = {
  register: (cli: Argv) =>
    cli.command(
      'evaluate-retrieval',
      'Hierarchical precision, mAHP(@K) and mAP of nearest-neighbour retrieval (reference: evaluate_retrieval.py)',
      (y) =>
        withTaxonomyOptions(y)
          .option('dataset', { type: 'string', describe: 'Dataset name (only read when --labels is not given)' })
          .option('data_root', { alias: 'data-root', type: 'string', describe: 'Root directory of the dataset' })
          .option('classes_from', { alias: 'classes-from', type: 'string', describe: 'Class embedding file whose ind2label lists the classes; labels are then indices into it' })
          .option('feat', { type: 'string', array: true, demandOption: true, describe: 'Features: .npy (rows = samples) or a pickled dump {"feat": {id: vector}}; repeatable' })
          .option('label', { type: 'string', array: true, describe: 'Name of the corresponding --feat (default: its file name)' })
          .option('norm', { type: 'string', array: true, describe: 'yes/no per --feat: L2-normalise and rank by dot product (default no: squared Euclidean)' })
          .option('labels', { type: 'string', describe: 'Class labels in feature row order: .npy of integers or text, one per line' })
          .option('plot_max', { alias: 'plot-max', type: 'number', default: 250, describe: 'P@k for k = 1..plot_max (plots and CSV); 0 disables plotting' })
          .option('prec_type', { alias: 'prec-type', choices: ['LCS_HEIGHT', 'WUP'] as const, default: 'LCS_HEIGHT' as const, describe: 'Similarity for the CSV and plots' })
          .option('clip_ahp', { alias: 'clip-ahp', type: 'number', describe: 'AHP@K: clip the ranking at K (default: AHP over the whole ranking)' })
          .option('csv', { type: 'string', describe: 'Write P@k (prec_type) per feature set as CSV (k;label...)' })
          .option('json', { type: 'string', describe: 'Write all mean metrics as {label: {metric: value}}' })
          .option('plots', { type: 'string', describe: 'Folder for the plots: hierarchical_precision.{svg,png}, mahp.{svg,png}' })
          .option('engine', { choices: ['auto', 'faiss', 'exact'] as const, default: 'auto' as const, describe: 'Search engine: FAISS (float32, BLAS) or exact float64 JS; auto = FAISS if it loads' })
          .option('corrected_ideal', { alias: 'corrected-ideal', type: 'boolean', default: false, describe: 'Ideal ranking without the query (the reference subtracts 1.0 instead, quirk Q16)' })
          .option('no_progress', { alias: 'no-progress', type: 'boolean', default: false, describe: 'No progress bar' })
          .example(
            '$0 evaluate-retrieval --dataset CIFAR-100 --data_root cifar --hierarchy hierarchies/Cifar-Hierarchy/cifar.parent-child.txt --feat feat.npy --labels labels.txt --clip_ahp 250',
            'mAHP@250 and mAP of one feature set',
          ),
      (argv) => run(argv as unknown as Args),
    ),
};

async function run(a: Args): Promise<void> {
  const feats = asArray(a.feat)!;
  const names = asArray(a.label);
  const norms = asArray(a.norm)?.map((v) => str2bool(v, '--norm'));
  if (!Number.isInteger(a.plot_max) || a.plot_max < 0) throw new UsageError(`--plot_max must be a non-negative integer, got ${a.plot_max}`);
  if (a.clip_ahp !== undefined && (!Number.isInteger(a.clip_ahp) || a.clip_ahp < 0)) throw new UsageError(`--clip_ahp must be a positive integer, got ${a.clip_ahp}`);
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
    const bar = progressBar(!a.no_progress, name);
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

// Shared by evaluate-retrieval and evaluate-classification: labels (file or dataset), hierarchy checks, progress.
// Loaded by handlers only (after their own dynamic imports): importing the packages here is no start-up cost.
import { parseId, readClassEmbedding, readHierarchy, type ClassId, type Hierarchy } from '@semembed/hierarchy';
import { classificationAccuracy, readLabels } from '@semembed/retrieval';
import { UsageError } from '../errors.js';
import { startProgressBar, type ProgressBar } from '../progress.js';

/** Per-set option i of a repeated flag, or the default (the reference's `args.x[i] if i < len(args.x)`). */
export function nth<T>(values: T[] | undefined, i: number, fallback: T): T {
  return values !== undefined && i < values.length ? values[i] : fallback;
}

/**
 * Class ids of the test samples, in sample order: from --labels (class ids; with --classes_from, integers are
 * indices into its ind2label, as the reference's dataset labels are) or from the dataset's test split.
 */
export async function loadTruth(a: {
  labels?: string;
  dataset?: string;
  data_root?: string;
  classes_from?: string;
  str_ids: boolean;
}): Promise<{ truth: ClassId[]; source: string; ind2label?: ClassId[] }> {
  const ind2label = a.classes_from ? readClassEmbedding(a.classes_from).ind2label : undefined;
  const mapIndex = (l: ClassId, where: string): ClassId => {
    if (!ind2label) return l;
    if (typeof l !== 'number' || !Number.isInteger(l) || l < 0 || l >= ind2label.length)
      throw new UsageError(
        `${where}: label ${String(l)} is not a class index 0..${ind2label.length - 1} of --classes_from ${a.classes_from}`,
      );
    return ind2label[l];
  };
  if (a.labels) {
    const raw = readLabels(a.labels, (t) => {
      const id = parseId(t, ind2label ? false : a.str_ids);
      if (id === undefined) throw new Error(`'${t}' is not an integer class id (use --str_ids for string ids)`);
      return id;
    });
    return { truth: raw.map((l, i) => mapIndex(l, `${a.labels} (row ${i})`)), source: a.labels, ind2label };
  }
  if (!a.dataset || !a.data_root)
    throw new UsageError(
      'give --labels F (labels in feature row order), or --dataset and --data_root to read the test labels',
    );
  const { loadDataset } = await import('@semembed/datasets');
  const ds = await loadDataset(a.dataset, { dataRoot: a.data_root, split: 'test', classes: ind2label });
  const truth = Array.from(ds.labels, (l) => (ind2label ? ind2label[l] : (ds.classIds?.[l] ?? l)));
  return { truth, source: `${a.dataset} test split in ${a.data_root}`, ind2label };
}

/**
 * The reference's accuracies (flat, top-5, hierarchical, balanced) of a ranking of the output columns (n x k,
 * best first), judged on the first five: evaluate-classification and the pipeline's evaluation step.
 */
export function referenceAccuracies(
  r: { ranked: Int32Array; k: number },
  columnIds: ClassId[],
  truth: ClassId[],
  hierarchy: Hierarchy,
): Record<string, number> {
  return classificationAccuracy(top5(r.ranked, r.k), Math.min(5, r.k), columnIds, truth, (p, t) =>
    hierarchy.lcsHeight(p, t),
  ).metrics;
}

/** The first min(5, k) columns of each n x k ranking (the reference's accuracies look at the top 5). */
function top5(ranked: Int32Array, k: number): Int32Array {
  if (k <= 5) return ranked;
  const n = ranked.length / k;
  const out = new Int32Array(n * 5);
  for (let i = 0; i < n; i++) out.set(ranked.subarray(i * k, i * k + 5), i * 5);
  return out;
}

export function checkInHierarchy(truth: ClassId[], hierarchy: Hierarchy, source: string, hierarchyPath: string): void {
  for (let i = 0; i < truth.length; i++)
    if (!hierarchy.has(truth[i]))
      throw new UsageError(`${source}: label ${String(truth[i])} (row ${i}) is not in the hierarchy ${hierarchyPath}`);
}

/**
 * The evaluate commands' taxonomy (--hierarchy, --is_a, --str_ids) and test labels (loadTruth), every label checked
 * to be in the taxonomy.
 */
export async function loadHierarchyAndTruth(
  a: Parameters<typeof loadTruth>[0] & { hierarchy: string; is_a: boolean },
): Promise<{ hierarchy: Hierarchy; truth: ClassId[]; source: string; ind2label?: ClassId[] }> {
  const hierarchy = readHierarchy(a.hierarchy, { isA: a.is_a, strIds: a.str_ids });
  const { truth, source, ind2label } = await loadTruth(a);
  checkInHierarchy(truth, hierarchy, source, a.hierarchy);
  return { hierarchy, truth, source, ind2label };
}

/** The query progress of a search: the bar starts at the first update, when the number of queries is known. */
export function progressBar(
  enabled: boolean,
  what: string,
): { update(done: number, total: number): void; stop(): void } {
  let bar: ProgressBar | undefined;
  return {
    update(done, total) {
      bar ??= startProgressBar(
        enabled,
        `${what} [{bar}] {percentage}% | {value}/{total} queries | ETA {eta_formatted}`,
        total,
      );
      bar.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}

// The inputs the evaluate-retrieval / evaluate-classification tests share, written as the files a user passes: the
// reference's a_noise_s0p1 case (outputs of cvjena/semantic-embeddings, in @semembed/test-fixtures), the
// CIFAR-100 taxonomy, and class files whose columns are a few CIFAR classes.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '@semembed/formats';
import { readHierarchy, writeClassEmbedding } from '@semembed/hierarchy';
import { fixturePath } from '@semembed/test-fixtures';
import { ROOT, semembed } from './run.js';

export const HIER = 'hierarchies/Cifar-Hierarchy/cifar.parent-child.txt';
export const hierarchy = readHierarchy(join(ROOT, HIER));
/** The reference's retrieval metrics on given inputs (cvjena/semantic-embeddings, in @semembed/test-fixtures). */
export const REF = fixturePath('cvjena/reference/metrics');

/** The reference case a_noise_s0p1 in a new folder: float64 / float32 features, labels as .txt and int64 .npy. */
export function referenceCase(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const inputs = JSON.parse(readFileSync(join(REF, 'a_noise_s0p1.inputs.json'), 'utf8'));
  const results = JSON.parse(readFileSync(join(REF, 'a_noise_s0p1.results.json'), 'utf8'));
  const n: number = inputs.n;
  const dim: number = inputs.dim;
  const files = {
    feat64: join(dir, 'feat64.npy'),
    feat32: join(dir, 'feat32.npy'),
    labelsTxt: join(dir, 'labels.txt'),
    labelsNpy: join(dir, 'labels.npy'),
  };
  writeNpy(files.feat64, { data: Float64Array.from(inputs.features.flat()), shape: [n, dim] });
  writeNpy(files.feat32, { data: Float32Array.from(inputs.features.flat()), shape: [n, dim] });
  writeFileSync(files.labelsTxt, inputs.labels.join('\n') + '\n');
  const labels = BigInt64Array.from(inputs.labels, (l: number) => BigInt(l));
  writeNpy(files.labelsNpy, { data: labels, shape: [n], dtype: 'int64' });
  /** The reference's metrics for one (normalize, compute_ahp) run. */
  const refRun = (normalize: boolean, ahp: boolean | number) =>
    results.runs.find((r: any) => r.normalize === normalize && r.compute_ahp === ahp);
  return { dir, inputs, n, dim, ...files, refRun };
}

/** `semembed evaluate-retrieval --hierarchy HIER --feat feat --labels labels ...more`. */
export const evaluateRetrieval = (feat: string, labels: string, more: string[]) =>
  semembed(['evaluate-retrieval', '--hierarchy', HIER, '--feat', feat, '--labels', labels, ...more]);

/** `semembed evaluate-classification --hierarchy HIER --feat feat --labels labels ...more`. */
export const evaluateClassification = (feat: string, labels: string, more: string[]) =>
  semembed(['evaluate-classification', '--hierarchy', HIER, '--feat', feat, '--labels', labels, ...more]);

/** For evaluateRetrieval: the same features a second time; run `a` ranks them as they are, run `b` L2-normalised. */
export const asIsAndNormalised = (feat: string, a: string, b: string) => [
  '--feat',
  feat,
  '--label',
  a,
  '--label',
  b,
  '--norm',
  'no',
  '--norm',
  'yes',
];

/**
 * A class file whose columns are `classes` (one-hot class embedding, as `--classes_from` reads it), and `truth` as
 * column indices, one per line: labels for features whose columns are those classes.
 */
export function columnFiles(dir: string, classes: number[], truth: number[], method = 'unitsphere') {
  const columns = join(dir, `columns.${method}.json`);
  const k = classes.length;
  writeClassEmbedding(columns, {
    method,
    ind2label: classes,
    label2ind: new Map(classes.map((c, i) => [c, i])),
    embedding: new Float64Array(k * k).map((_, i) => (i % (k + 1) === 0 ? 1 : 0)),
    rows: k,
    dim: k,
  });
  const labels = join(dir, `columns.${method}.labels.txt`);
  writeFileSync(labels, truth.map((t) => classes.indexOf(t)).join('\n'));
  return { columns, labels };
}

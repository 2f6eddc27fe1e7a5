import type { Argv } from 'yargs';
import type { ArgsOf } from '../command.js';
import { UsageError } from '../errors.js';
import { numberOptions } from '../options.js';
import { checkInputs, checkOutputs, pathArgs, withForceOption } from '../write-safety.js';

export const command = 'index <action>';
export const describe = 'FAISS indices of feature galleries (build: from .npy features, report recall vs exact)';

export const builder = (y: Argv) =>
  withForceOption(y)
    .positional('action', {
      choices: ['build'] as const,
      demandOption: true,
      describe: 'build: create an index file (+ .json sidecar)',
    })
    .option('features', {
      type: 'string',
      demandOption: true,
      describe: 'Gallery features: .npy (rows = samples) or a pickled dump',
    })
    .option('labels', { type: 'string', describe: 'Class label per row (.npy ints or text), stored in the sidecar' })
    .option('str_ids', { type: 'boolean', default: false, describe: 'Labels are strings' })
    .option('hierarchy', { type: 'string', describe: 'Check that every label is in this taxonomy' })
    .option('is_a', { type: 'boolean', default: false })
    .option('out', {
      type: 'string',
      demandOption: true,
      describe: 'Index file to write (FAISS format) and <out>.json',
    })
    .option('factory', {
      type: 'string',
      default: 'Flat',
      describe: 'FAISS index factory string: Flat, HNSW32, IVF1024,Flat, IVF256,PQ16, ...',
    })
    .option('norm', {
      type: 'boolean',
      default: false,
      describe: 'L2-normalise and use inner product (else squared L2)',
    })
    .options(
      numberOptions({
        nprobe: { int: true, min: 1, describe: 'IVF: lists probed per query' },
        ef_search: { int: true, min: 1, describe: 'HNSW: efSearch' },
        recall_queries: {
          int: true,
          min: 0,
          default: 1000,
          describe: 'Gallery rows used as queries to measure recall against the exact index (0: skip)',
        },
        k: { int: true, min: 1, default: 10, describe: 'recall@k' },
      }),
    );

/** `semembed index build`: a FAISS index of a feature gallery (exact Flat or a factory string), with its recall. */
export async function handler(a: ArgsOf<typeof builder>): Promise<void> {
  const inputs = pathArgs(a, ['features', 'labels', 'hierarchy']);
  checkInputs(inputs);
  checkOutputs(
    [
      { path: a.out, flag: '--out' },
      { path: `${a.out}.json`, flag: 'the index sidecar' },
    ],
    inputs,
    a.force,
  );
  const [
    { readHierarchy },
    { buildIndex, loadIndex, readFeatures, recallAtK, saveIndex, toFloat32, normalizeRows },
    { loadTruth, checkInHierarchy },
  ] = await Promise.all([
    import('@semembed/hierarchy'),
    import('@semembed/retrieval'),
    import('./retrieval-common.js'),
  ]);
  const fs = readFeatures(a.features);
  let labels: (number | string)[] | undefined;
  if (a.labels) {
    const { truth, source } = await loadTruth({ labels: a.labels, str_ids: a.str_ids });
    if (truth.length !== fs.n)
      throw new UsageError(`${a.features} has ${fs.n} rows but ${source} has ${truth.length} labels`);
    if (a.hierarchy)
      checkInHierarchy(truth, readHierarchy(a.hierarchy, { isA: a.is_a, strIds: a.str_ids }), source, a.hierarchy);
    labels = truth;
  }
  const t0 = performance.now();
  const { index, meta } = buildIndex(fs.data, fs.dim, { factory: a.factory, normalize: a.norm });
  const buildSeconds = (performance.now() - t0) / 1000;
  if (a.nprobe !== undefined) index.setParameter('nprobe', a.nprobe);
  if (a.ef_search !== undefined) index.setParameter('efSearch', a.ef_search);
  saveIndex(index, { ...meta, labels }, a.out);
  console.log(
    `${a.out}: ${meta.factory} index of ${meta.n} x ${meta.dim} (${meta.metric}), built in ${buildSeconds.toFixed(2)} s`,
  );
  const nq = Math.min(a.recall_queries, fs.n);
  if (nq > 0 && a.factory !== 'Flat') {
    const k = Math.min(a.k, fs.n);
    const exact = buildIndex(fs.data, fs.dim, { factory: 'Flat', normalize: a.norm }).index;
    const x = toFloat32(a.norm ? normalizeRows(fs.data, fs.dim) : fs.data);
    const step = Math.max(1, Math.floor(fs.n / nq));
    const q = new Float32Array(nq * fs.dim);
    for (let i = 0; i < nq; i++) q.set(x.subarray(i * step * fs.dim, (i * step + 1) * fs.dim), i * fs.dim);
    const reloaded = loadIndex(a.out).index;
    if (a.nprobe !== undefined) reloaded.setParameter('nprobe', a.nprobe);
    if (a.ef_search !== undefined) reloaded.setParameter('efSearch', a.ef_search);
    console.log(`recall@${k} against the exact index on ${nq} queries: ${recallAtK(reloaded, exact, q, k).toFixed(4)}`);
  }
}

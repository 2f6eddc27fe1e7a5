import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { ArgsOf } from '../command.js';
import { EMBEDDING_METHODS } from '../choices.js';
import { intOption, withTaxonomyOptions } from '../options.js';
import { UsageError } from '../errors.js';
import { checkInputs, checkOutputs, pathArgs, withForceOption } from '../write-safety.js';

export const command = 'compute-class-embedding';
export const describe = 'Compute class embeddings from a taxonomy (reference: compute_class_embedding.py)';

export const builder = (y: Argv) =>
  withTaxonomyOptions(withForceOption(y))
    .option('class_list', {
      type: 'string',
      describe: 'File whose lines start with the target class ids (default: the leaves of the taxonomy)',
    })
    .option('out', {
      type: 'string',
      demandOption: true,
      describe: 'Output file: .json (ours) or .pickle (as the reference writes it)',
    })
    .option('method', {
      choices: EMBEDDING_METHODS,
      default: 'unitsphere' as const,
      describe:
        'unitsphere: n-d unit vectors whose dot products are the similarities; approx_sim: best num_dim-d approximation of them; ' +
        'mds / spheres: Euclidean distances equal the dissimilarities',
    })
    .option('num_dim', intOption('num_dim', { min: 0, describe: 'Dimensions for mds / approx_sim (mds default: n-1)' }))
    .option('norm', {
      type: 'boolean',
      default: false,
      describe: 'L2-normalise the embeddings (rows below 1e-8 stay as they are)',
    })
    .example(
      '$0 compute-class-embedding --hierarchy hierarchies/Cifar-Hierarchy/cifar.parent-child.txt --out cifar100.unitsphere.pickle',
      'the reference README command (unitsphere is the default method, as in the reference)',
    );

/**
 * The dense methods hold about three n×n float64 matrices (distances, similarities, the result); past the
 * machine's memory (or V8's largest typed array) that is a typed-array RangeError after the slow part. Say it up
 * front, with the numbers. approx_sim with --num_dim on more than 400 classes takes the Krylov path: no n×n matrix.
 */
async function checkDenseMemory(n: number, method: string, numDim: number | undefined): Promise<void> {
  if (method === 'approx_sim' && numDim !== undefined && numDim > 0 && numDim < n && n > 400) return;
  const { totalmem } = await import('node:os');
  const need = 3 * n * n * 8;
  const gb = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 31 ? 2 : 0)} GB`;
  if (need > totalmem() || n * n > 2 ** 32) {
    throw new UsageError(
      `${n} classes: the ${method} method needs dense n×n float64 matrices, n² memory: about 3 × ${n}² × 8 bytes = ${gb(need)}, ` +
        `and this machine has ${gb(totalmem())}` +
        (method === 'approx_sim' ? '' : '; approx_sim with --num_dim needs no n×n matrix on a tree'),
    );
  }
}

/** compute_class_embedding.py: class embeddings from a taxonomy, with the reference's flags and printout. */
export async function handler(args: ArgsOf<typeof builder>): Promise<void> {
  const inputs = pathArgs(args, ['hierarchy', 'class_list']);
  checkInputs(inputs);
  checkOutputs([{ path: args.out, flag: '--out' }], inputs, args.force);
  const { classEmbeddingOf, computeClassEmbedding, pyFloat, readClassList, readHierarchy, writeClassEmbedding } =
    await import('@semembed/hierarchy');
  const hierarchy = readHierarchy(args.hierarchy, { isA: args.is_a, strIds: args.str_ids });
  const classes = args.class_list
    ? readClassList(args.class_list, { strIds: args.str_ids, hierarchy })
    : hierarchy.leaves();
  await checkDenseMemory(classes.length, args.method, args.num_dim || undefined);
  const res = computeClassEmbedding(hierarchy, classes, {
    method: args.method,
    numDim: args.num_dim || undefined,
    norm: args.norm,
  });
  console.log(
    `Computed ${res.dim}-dimensional semantic embeddings for ${res.rows} classes using the "${res.method}" method in ${pyFloat(res.solveSeconds)} seconds.`,
  );
  const what = res.deviation.kind === 'similarities' ? 'similarities' : 'distances';
  const sample = res.deviation.sampledRows ? ` (on ${res.deviation.sampledRows} of ${res.rows} rows)` : '';
  console.log(`Maximum deviation from target ${what}: ${pyFloat(res.deviation.max)}${sample}`);
  console.log(`Average deviation from target ${what}: ${pyFloat(res.deviation.mean)}${sample}`);
  if (args.norm && res.smallRows > 0) {
    console.error(
      `warning: ${res.smallRows} embedding rows have a norm below 1e-8 and were left unnormalised (not NaN)`,
    );
  }
  writeClassEmbedding(
    args.out,
    classEmbeddingOf(res, {
      hierarchy: resolve(args.hierarchy),
      meta: {
        num_dim: args.num_dim ?? null,
        norm: args.norm,
        is_a: args.is_a,
        str_ids: args.str_ids,
        solver: res.solver,
        max_dev: res.deviation.max,
        mean_dev: res.deviation.mean,
        dev_kind: res.deviation.kind,
      },
    }),
  );
}

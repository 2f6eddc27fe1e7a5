// Flags shared by several commands, and the helpers every flag definition goes through. Nothing heavy is imported
// here: builders run for `--help` too.
import type { Argv } from 'yargs';

/**
 * A bad flag value found while parsing (a number that is not one, a value out of range). yargs reports it through
 * `.fail()` before any handler runs; the CLI prints it as a usage error (exit 2).
 */
export class FlagError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** convert's and import's --architecture: the reference's model to build for a save_weights .h5. */
export const architectureOption = {
  type: 'string',
  describe: 'Reference architecture for a weights-only .h5 (e.g. resnet-110-wfc)',
} as const;

/** How the taxonomy file reads (the reference's flags): the same for every command that takes --hierarchy. */
function withTaxonomyFormatOptions<T>(y: Argv<T>) {
  return y
    .option('is_a', { type: 'boolean', default: false, describe: 'Lines are "child parent" (is-a) relations' })
    .option('str_ids', { type: 'boolean', default: false, describe: 'Class ids are strings, not integers' });
}

/** The reference's taxonomy flags, shared by every command that reads a hierarchy file. */
export function withTaxonomyOptions<T>(y: Argv<T>) {
  return withTaxonomyFormatOptions(
    y.option('hierarchy', {
      type: 'string',
      demandOption: true,
      describe: 'Taxonomy file: one "parent child" relation per line',
    }),
  );
}

/** The same flags for commands that use a taxonomy only when one is given; `describe` says what for. */
export function withOptionalTaxonomyOptions<T>(y: Argv<T>, describe: string) {
  return withTaxonomyFormatOptions(y.option('hierarchy', { type: 'string', describe }));
}

/**
 * `--no_progress` (the reference's spelling) and `--no-progress` (yargs' negation of the hidden `--progress`):
 * both work on every command that shows progress; read the result with showProgress().
 */
export function withProgressOptions<T>(y: Argv<T>, what = 'progress bars') {
  return y
    .option('no_progress', { type: 'boolean', default: false, describe: `No ${what}, just the results` })
    .option('progress', { type: 'boolean', default: true, hidden: true });
}

export function showProgress(a: { progress: boolean; no_progress: boolean }): boolean {
  return a.progress && !a.no_progress;
}

/** The reference's str2bool, for repeated per-feature yes/no flags (`--norm yes --norm no`). */
export function str2bool(v: string, flag: string): boolean {
  const s = v.toLowerCase();
  if (['yes', 'true', 't', 'y', '1'].includes(s)) return true;
  if (['no', 'false', 'f', 'n', '0'].includes(s)) return false;
  throw new FlagError(`--${flag}: boolean value expected (yes/no), got '${v}'`);
}

/** A repeatable yes/no flag: one value per --feat, as the reference's `type = str2bool, action = 'append'`. */
export const yesNoListOption = (flag: string, describe: string) => ({
  type: 'string' as const,
  array: true as const,
  requiresArg: true,
  describe,
  coerce: (v: string[] | undefined) => v?.map((x) => str2bool(String(x), flag)),
});

/** evaluate-*: the test labels come from --labels, or from the dataset (--dataset and --data_root). */
export function labelsSourceCheck(a: { labels?: string; dataset?: string; data_root?: string }): true {
  if (a.labels || (a.dataset && a.data_root)) return true;
  throw new FlagError(
    'give --labels F (labels in feature row order), or --dataset and --data_root to read the test labels',
  );
}

/** The evaluate commands' label source: --labels, or the test split of --dataset in --data_root (checked). */
export function withLabelSourceOptions<T>(y: Argv<T>) {
  return y
    .option('dataset', { type: 'string', describe: 'Dataset name (only read when --labels is not given)' })
    .option('data_root', { type: 'string', describe: 'Root directory of the dataset' })
    .option('labels', {
      type: 'string',
      describe: 'Class labels in feature row order: .npy of integers or text, one per line',
    })
    .check(labelsSourceCheck);
}

/** --workers: 'auto' or a positive integer. */
export function parseWorkers(v: unknown): number | 'auto' {
  const last = Array.isArray(v) ? v[v.length - 1] : v;
  if (last === undefined || last === 'auto') return 'auto';
  const n = Number(last);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new FlagError(`--workers must be auto or an integer from 1 to 64, got '${String(last)}'`);
  return n;
}

export const workersOption = (describe: string) => ({
  default: 'auto' as const,
  requiresArg: true,
  describe,
  coerce: parseWorkers,
});

interface NumberSpec {
  describe?: string;
  default?: number;
  demandOption?: boolean;
  hidden?: boolean;
  /** Integers only (the reference's `type = int`). */
  int?: boolean;
  min?: number;
  max?: number;
  /** The value must be above min, not equal to it. */
  aboveMin?: boolean;
}

type NumberOption<S extends NumberSpec> = Omit<S, 'int' | 'min' | 'max' | 'aboveMin'> & {
  requiresArg: true;
  coerce: (v: unknown) => number;
};

/**
 * A numeric flag. No yargs `type`: yargs' own number parsing turns "1o" into NaN and loses what was typed; here
 * yargs-parser leaves a non-numeric value as the string the user wrote and the check quotes it.
 */
export function numberOption<S extends NumberSpec>(flag: string, spec: S): NumberOption<S> {
  const { int, min, max, aboveMin, ...rest } = spec;
  const coerce = (v: unknown): number => {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    const n = typeof last === 'number' ? last : typeof last === 'string' && last.trim() !== '' ? Number(last) : NaN;
    const range = [min !== undefined ? `${aboveMin ? '>' : '>='} ${min}` : '', max !== undefined ? `<= ${max}` : '']
      .filter(Boolean)
      .join(' and ');
    const what = `${int ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`;
    const bad =
      !Number.isFinite(n) ||
      (int && !Number.isInteger(n)) ||
      (min !== undefined && (aboveMin ? n <= min : n < min)) ||
      (max !== undefined && n > max);
    if (bad) throw new FlagError(`--${flag} must be ${what}, got '${String(last)}'`);
    return n;
  };
  return { ...rest, requiresArg: true, coerce } as NumberOption<S>;
}

/** Integer flag (the reference's `type = int`). */
export const intOption = <S extends Omit<NumberSpec, 'int'>>(flag: string, spec: S) =>
  numberOption(flag, { ...spec, int: true });

/**
 * A run of numeric flags as one table, each named once: `.options(numberOptions({ port: { int: true, min: 0 }, ... }))`
 * declares them in the table's order, as the same chain of `.option(name, numberOption(name, spec))` would.
 */
export function numberOptions<M extends Record<string, NumberSpec>>(specs: M): { [K in keyof M]: NumberOption<M[K]> } {
  return Object.fromEntries(Object.entries(specs).map(([flag, spec]) => [flag, numberOption(flag, spec)])) as {
    [K in keyof M]: NumberOption<M[K]>;
  };
}

/** The evaluate commands' bootstrap intervals: --bootstrap resamples (0: none; `describe` says of what) and --seed. */
export const bootstrapOptions = (describe: string) =>
  numberOptions({
    bootstrap: { int: true, min: 0, default: 0, describe },
    seed: { int: true, min: 0, default: 0, describe: 'Seed of the bootstrap resamples' },
  });

export interface YargsOptionsView {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  default: Record<string, unknown>;
  demandedOptions: Record<string, unknown>;
  choices: Record<string, unknown[]>;
  hiddenOptions: string[];
}

/** yargs keeps the declared options on the instance; its typings do not list getOptions(). */
export function optionsOf(y: Argv<unknown>): YargsOptionsView {
  return (y as unknown as { getOptions(): YargsOptionsView }).getOptions();
}

/**
 * Every snake_case flag also answers to its kebab-case spelling (`--sgd_lr` / `--sgd-lr`), and the reverse, added
 * once for all commands instead of an alias on each option.
 */
export function withSpellingAliases<U>(y: Argv<U>): Argv<U> {
  const opts = optionsOf(y as Argv<unknown>);
  for (const key of Object.keys(opts.key)) {
    const aliases = new Set([key, ...(opts.alias[key] ?? [])]);
    for (const other of [key.replaceAll('_', '-'), key.replaceAll('-', '_')]) {
      if (!aliases.has(other) && !(other in opts.key)) {
        y = y.alias(key, other);
        aliases.add(other);
      }
    }
  }
  return y;
}

/** The flag names (with their aliases) a builder declared, for "did you mean" suggestions. */
export function declaredFlags(y: Argv<unknown>): string[] {
  const opts = optionsOf(y);
  return [...new Set([...Object.keys(opts.key), ...Object.values(opts.alias).flat()])].filter(
    (k) => k !== '$0' && k !== '_',
  );
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The closest declared flag to a typo, if one is close enough to be what was meant. */
export function suggestFlag(typed: string, known: string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replaceAll('-', '_');
  const candidates = known.filter((k) => k.length > 1 && !/[A-Z]/.test(k));
  // A unique flag the typo is the start of (both spellings of one flag count once).
  const sameStyle = (k: string) => k.includes(typed.includes('-') ? '-' : '_');
  const prefixed = new Map<string, string>();
  for (const k of candidates)
    if (typed.length >= 3 && norm(k).startsWith(norm(typed)) && (!prefixed.has(norm(k)) || sameStyle(k)))
      prefixed.set(norm(k), k);
  if (prefixed.size === 1) return [...prefixed.values()][0];
  let best: string | undefined;
  let bestD = Infinity;
  // single letters and yargs' camelCase copies are never suggested
  for (const k of candidates) {
    const d = editDistance(norm(typed), norm(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined;
}

// The flag definitions of every command, parsed in-process (the spawned-bin checks are in command-line.test.ts).
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { commands } from '../src/index.js';
import type { Command } from '../src/command.js';
import { optionsOf, showProgress, suggestFlag, withSpellingAliases } from '../src/options.js';
import { learnImageEmbeddingsCommand } from '../src/commands/learn-image-embeddings.js';

const name = (c: Command<unknown>) => (Array.isArray(c.command) ? c.command[0] : (c.command as string)).split(' ')[0];
const defined = (c: Command<unknown>) => optionsOf(withSpellingAliases(c.builder(yargs([]))));

/** Parses args with one command's flags as the CLI does (strict), without running the handler. */
function parse(c: Command<unknown>, args: string[]): Record<string, unknown> {
  return withSpellingAliases(c.builder(yargs(args)))
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseSync();
}

describe('every flag answers to its snake_case and kebab-case spelling', () => {
  for (const c of commands) {
    it(name(c), () => {
      const o = defined(c);
      const keys = Object.keys(o.key).filter((k) => !Object.values(o.alias).flat().includes(k));
      let multiword = 0;
      for (const k of keys) {
        const spellings = new Set([k, ...(o.alias[k] ?? [])]);
        if (!/[_-]/.test(k)) continue;
        multiword++;
        expect(spellings, k).toContain(k.replaceAll('-', '_'));
        expect(spellings, k).toContain(k.replaceAll('_', '-'));
      }
      if (name(c) !== 'bench') expect(multiword).toBeGreaterThan(0);
    });
  }

  it('learn-image-embeddings: --sgd_lr/--sgd-lr and every sgdr_* / clr_* flag parse to the same option', () => {
    const base = ['--dataset', 'FashionMNIST', '--embedding', 'onehot'];
    const flags = {
      sgd_lr: 0.5,
      sgd_min_lr: 1e-4,
      sgd_patience: 3,
      sgdr_base_len: 3,
      sgdr_mul: 2,
      sgdr_max_lr: 0.2,
      sgdr_min_lr: 1e-6,
      clr_step_len: 4,
      clr_min_lr: 1e-5,
      clr_max_lr: 0.3,
    };
    for (const style of ['_', '-']) {
      const args = [
        ...base,
        ...Object.entries(flags).flatMap(([k, v]) => [`--${k.replaceAll('_', style)}`, String(v)]),
      ];
      const a = parse(learnImageEmbeddingsCommand as Command<unknown>, args);
      for (const [k, v] of Object.entries(flags)) expect(a[k], `--${k.replaceAll('_', style)}`).toBe(v);
    }
  });
});

describe('--no-progress and --no_progress', () => {
  const withProgress = commands.filter((c) => 'no_progress' in defined(c).key);

  it('are offered by every command that shows progress', () => {
    expect(withProgress.map(name).sort()).toEqual([
      'benchmark',
      'embed',
      'evaluate-retrieval',
      'import',
      'learn-image-embeddings',
      'pipeline',
    ]);
  });

  const required: Record<string, string[]> = {
    benchmark: ['--list'],
    embed: ['--model', 'm.onnx', '--input', 'x', '--out', 'f.npy'],
    'evaluate-retrieval': ['--hierarchy', 'h', '--feat', 'f', '--labels', 'l'],
    import: ['--list'],
    'learn-image-embeddings': ['--dataset', 'FashionMNIST', '--embedding', 'onehot'],
    pipeline: [],
  };
  for (const c of withProgress) {
    it(`${name(c)}: both spellings turn progress off; without them it is on`, () => {
      const args = required[name(c)];
      expect(args, `required flags of ${name(c)} listed here`).toBeDefined();
      const p = (extra: string[]) =>
        showProgress(parse(c, [...args, ...extra]) as { progress: boolean; no_progress: boolean });
      expect(p([])).toBe(true);
      expect(p(['--no-progress'])).toBe(false);
      expect(p(['--no_progress'])).toBe(false);
    });
  }
});

describe('bad values are rejected while parsing', () => {
  const base = ['--dataset', 'FashionMNIST', '--embedding', 'onehot'];
  const lie = learnImageEmbeddingsCommand as Command<unknown>;
  it.each([
    [['--batch_size', '1o'], "--batch_size must be an integer >= 1, got '1o'"],
    [['--batch-size', '2.5'], "--batch_size must be an integer >= 1, got '2.5'"],
    [['--sgd_lr', 'fast'], "--sgd_lr must be a number > 0, got 'fast'"],
    [['--sgd_lr', '0'], "--sgd_lr must be a number > 0, got '0'"],
    [['--epochs', ''], "--epochs must be an integer >= 1, got ''"],
    [['--workers', 'two'], "--workers must be auto or an integer from 1 to 64, got 'two'"],
    [['--loss', 'l1'], /Invalid values:[\s\S]*loss/],
  ])('%j', (extra, message) => {
    expect(() => parse(lie, [...base, ...extra])).toThrow(message);
  });

  it("no command declares yargs' number type (it turns '1o' into NaN and loses what was typed)", () => {
    for (const c of commands) expect((defined(c) as unknown as { number: string[] }).number, name(c)).toEqual([]);
  });

  it('numbers as the reference writes them parse', () => {
    const a = parse(lie, [...base, '--sgd_lr', '1e-3', '--epochs', '12', '--cls_weight', '.1', '--workers', '2']);
    expect([a.sgd_lr, a.epochs, a.cls_weight, a.workers]).toEqual([0.001, 12, 0.1, 2]);
  });
});

describe('did you mean', () => {
  it.each([
    ['metod', ['hierarchy', 'method', 'norm', 'num_dim', 'num-dim'], 'method'],
    ['prot', ['port', 'host', 'model'], 'port'],
    ['sgdr_max', ['sgdr_max_lr', 'sgdr-max-lr', 'sgdr_mul'], 'sgdr_max_lr'],
    ['sgdr-max', ['sgdr_max_lr', 'sgdr-max-lr', 'sgdr_mul'], 'sgdr-max-lr'],
    ['batchsize', ['batch_size', 'batch-size', 'batchSize'], 'batch_size'],
  ])('--%s -> --%s', (typed, known, want) => {
    expect(suggestFlag(typed, known)).toBe(want);
  });
  it('nothing close: no suggestion', () => {
    expect(suggestFlag('frobnicate', ['method', 'out', 'hierarchy'])).toBeUndefined();
  });
});

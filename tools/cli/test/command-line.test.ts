// The real bin, as a user runs it: a typo never runs (exit 2 at once, no output), --version, suggestions.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../src/index.js';
import { ROOT, semembed } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-typo-'));
const out = (f: string) => join(dir, f);
const HIER = join(ROOT, 'hierarchies', 'fashion-mnist', 'fashion-mnist.parent-child.txt');

// Per command: a command line that would write out(...) files (or serve), with one typo'd flag, and the flag the
// suggestion must name. Inputs need not exist: nothing may be read before the flags are checked.
const typos: Record<string, [string[], string]> = {
  'compute-class-embedding': [['--hierarchy', HIER, '--out', out('e.json'), '--metod', 'unitsphere'], 'method'],
  'learn-image-embeddings': [
    [
      '--dataset',
      'FashionMNIST',
      '--embedding',
      'onehot',
      '--model_dump',
      out('m.h5'),
      '--feature_dump',
      out('f.npy'),
      '--sgd_lrr',
      '0.1',
    ],
    'sgd_lr',
  ],
  convert: [['in.h5', out('m.onnx'), '--opst', '13'], 'opset'],
  import: [['--from', 'in.h5', '--out', out('i.onnx'), '--archtecture', 'simple'], 'architecture'],
  embed: [['--model', 'm.onnx', '--input', 'images', '--out', out('f.npy'), '--batchsize', '4'], 'batch_size'],
  serve: [['--model', 'm.onnx', '--prot', '18432'], 'port'],
  'evaluate-retrieval': [
    [
      '--hierarchy',
      HIER,
      '--feat',
      'f.npy',
      '--labels',
      'l.txt',
      '--json',
      out('r.json'),
      '--csv',
      out('r.csv'),
      '--clip_ahb',
      '250',
    ],
    'clip_ahp',
  ],
  'evaluate-classification': [
    ['--hierarchy', HIER, '--feat', 'p.npy', '--labels', 'l.txt', '--json', out('c.json'), '--prob_feature', 'yes'],
    'prob_features',
  ],
  index: [['build', '--features', 'f.npy', '--out', out('g.index'), '--factroy', 'Flat'], 'factory'],
  'web-site': [['--model', 'm.json', '--out', out('site'), '--dtpye', 'float16'], 'dtype'],
  pipeline: [['--out', out('run'), '--epoch', '1'], 'epochs'],
  bench: [['--onyl', 'hierarchy'], 'only'],
  quantize: [['in.onnx', out('q.onnx'), '--calibraton', 'images'], 'calibration'],
  benchmark: [['m.onnx', '--json', out('b.json'), '--runtimez', 'ort-node-cpu'], 'runtimes'],
};

function expectRejected(args: string[], message: RegExp) {
  const t0 = performance.now();
  const r = semembed(args, { timeout: 10_000 });
  const ms = performance.now() - t0;
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr.trim()).toMatch(message);
  expect(r.stdout).toBe('');
  expect(readdirSync(dir), 'nothing written').toEqual([]);
  // Whole process, start to exit: the command's packages are never loaded. CPU time is what the process itself
  // spent; wall time also waits for the other processes on the cores, so its bound grows with the load average.
  expect(r.cpuMs).toBeLessThan(1000);
  expect(ms).toBeLessThan(1000 * Math.max(1, loadavg()[0] / cpus().length));
}

describe('a typo never runs', () => {
  it('covers every command', () => {
    expect(Object.keys(typos).sort()).toEqual(
      commands.map((c) => (Array.isArray(c.command) ? c.command[0] : (c.command as string)).split(' ')[0]).sort(),
    );
  });

  for (const [command, [args, meant]] of Object.entries(typos)) {
    it(`${command}: exit 2 within a second, no output, "did you mean --${meant}?"`, () => {
      const typo = args.findLast((a) => a.startsWith('--'))!;
      expectRejected([command, ...args], new RegExp(`^semembed: unknown flag ${typo}; did you mean --${meant}\\?`));
    });
  }

  it('a missing required flag, a bad choice and a bad number stop before any work', () => {
    expectRejected(
      ['compute-class-embedding', '--out', out('e.json')],
      /^semembed: Missing required argument: hierarchy/,
    );
    expectRejected(
      ['compute-class-embedding', '--hierarchy', HIER, '--out', out('e.json'), '--method', 'pca'],
      /Invalid values: .*method.*Given: "pca"/,
    );
    expectRejected(
      ['compute-class-embedding', '--hierarchy', HIER, '--out', out('e.json'), '--method', 'mds', '--num_dim', 'ten'],
      /^semembed: --num_dim must be an integer >= 0, got 'ten'$/,
    );
    expectRejected(
      ['serve', '--model', 'm.onnx', '--port', '80a'],
      /^semembed: --port must be an integer >= 0 and <= 65535, got '80a'$/,
    );
    expectRejected(
      ['evaluate-retrieval', '--hierarchy', HIER, '--feat', 'f.npy', '--json', out('r.json')],
      /^semembed: give --labels F/,
    );
    expectRejected(
      ['evaluate-retrieval', '--hierarchy', HIER, '--feat', 'f.npy', '--labels', 'l.txt', '--json', '-'],
      /^semembed: --json -: '-' \(standard output\) is not supported; give a file name/,
    );
  });

  it('an unknown command is named, with the closest one', () => {
    expectRejected(
      ['compute-clas', '--hierarchy', HIER],
      /^semembed: unknown command 'compute-clas'; did you mean compute-class-embedding\?/,
    );
  });
});

describe('semembed --version', () => {
  it("prints the CLI package's version", () => {
    const r = semembed(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'tools', 'cli', 'package.json'), 'utf8')).version);
  });
});

import { describe, expect, it } from 'vitest';
import { FormatError, parsePickle } from '../src/index.js';

// Hostile or damaged pickles end in one FormatError that names the file, never a JS RangeError / SyntaxError.
// The bytes are pickle.dumps(numpy.zeros((2, 3), 'float32'), protocol=2) from numpy 1.26 / 2.x, edited by hand.
const zeros23 = Buffer.from(
  '8002636e756d70792e5f636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7100636e756d70790a6e6461727261790a71014b00' +
    '857102635f636f646563730a656e636f64650a7103580100000062710458060000006c6174696e317105867106527107877108527109284b014b02' +
    '4b0386710a636e756d70790a64747970650a710b58020000006634710c898887710d52710e284b0358010000003c710f4e4e4e4affffffff4affff' +
    'ffff4b0074711062896803581800000000000000000000000000000000000000000000000000000071116805867112527113747114622e',
  'hex',
);
const withShape = (hex: string) => Buffer.from(zeros23.toString('hex').replace('4b024b0386', hex), 'hex');

describe('parsePickle on damaged input', () => {
  it('reads the unedited array (the edits below are what breaks it)', () => {
    expect(parsePickle(zeros23, 'z.pickle')).toMatchObject({ dtype: 'float32', shape: [2, 3] });
  });

  it('refuses negative dimensions, also when their product fits the data', () => {
    // (-2, 3): product -6; (-2, -3): product 6 = the 24 bytes there.
    for (const shape of ['4afeffffff4b0386', '4afeffffff4afdffffff86']) {
      expect(() => parsePickle(withShape(shape), 'neg.pickle')).toThrow(FormatError);
      expect(() => parsePickle(withShape(shape), 'neg.pickle')).toThrow(
        /^neg\.pickle: numpy array: shape \(-2, -?3\) has a dimension that is not a non-negative integer/,
      );
    }
  });

  it('refuses corrupt protocol-0 numbers with the text it found', () => {
    const good = '(dp0\nVa\np1\n(lp2\nI1\naI2\nas.';
    expect(parsePickle(Buffer.from(good, 'latin1'))).toEqual(new Map([['a', [1, 2]]]));
    expect(() => parsePickle(Buffer.from(good.replace('I1\n', 'I1x\n'), 'latin1'), 'p0.pickle')).toThrow(
      /^p0\.pickle: corrupt INT "1x" \(not an integer\)/,
    );
    expect(() => parsePickle(Buffer.from(good.replace('I1\n', 'L12zL\n'), 'latin1'), 'p0.pickle')).toThrow(
      /corrupt LONG "12z"/,
    );
    expect(() => parsePickle(Buffer.from(good.replace('I1\n', 'F1.5.5\n'), 'latin1'), 'p0.pickle')).toThrow(
      /corrupt FLOAT "1\.5\.5"/,
    );
    expect(parsePickle(Buffer.from(good.replace('I1\n', 'F-2.5e3\n'), 'latin1'))).toEqual(new Map([['a', [-2500, 2]]]));
  });

  it('refuses nesting deeper than 1000 levels instead of overflowing the stack', () => {
    const nest = (n: number) =>
      Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(n, 0x28), Buffer.alloc(n, 0x6c), Buffer.from('.')]);
    expect(() => parsePickle(nest(100_000), 'deep.pickle')).toThrow(
      /^deep\.pickle: containers nested deeper than 1000 levels/,
    );
    let v = parsePickle(nest(900)) as unknown[];
    let depth = 1;
    while (v.length === 1) [v, depth] = [v[0] as unknown[], depth + 1];
    expect(depth).toBe(900);
  });

  it('a huge APPENDS batch does not overflow the stack', () => {
    const n = 300_000;
    const body = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) body.set([0x4b, i & 0xff], i * 2);
    const p = Buffer.concat([Buffer.from([0x80, 0x02, 0x5d, 0x28]), body, Buffer.from([0x65, 0x2e])]);
    const list = parsePickle(p) as number[];
    expect(list.length).toBe(n);
    expect(list[257]).toBe(1);
  });
});

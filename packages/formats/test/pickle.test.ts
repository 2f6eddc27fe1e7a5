import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@semembed/test-fixtures';
import { FormatError, parsePickle, readPickle, type NdArray } from '../src/index.js';
import { py } from './python.js';

const dir = mkdtempSync(join(tmpdir(), 'pickle-'));

describe('parsePickle', () => {
  it('reads the authors released class-embedding pickle exactly', () => {
    const data = readPickle(fixturePath('cvjena/released/cifar100.unitsphere.pickle')) as Map<string, unknown>;
    const expected = JSON.parse(readFileSync(fixturePath('cvjena/released/cifar100.unitsphere.json'), 'utf8'));
    expect([...data.keys()].sort()).toEqual(['embedding', 'ind2label', 'label2ind']);
    const emb = data.get('embedding') as NdArray;
    expect(emb.dtype).toBe('float64');
    expect(emb.shape).toEqual([100, 100]);
    expect(Array.from(emb.data as Float64Array)).toEqual(expected.embedding.flat());
    expect(data.get('ind2label')).toEqual(expected.ind2label);
    const l2i = data.get('label2ind') as Map<number, number>;
    expect(l2i.get(expected.ind2label[17])).toBe(17);
  });

  it('refuses globals that could run code, naming them', () => {
    // pickle.dumps of os.system('true') via __reduce__ (protocol 0 and 2 spellings)
    const proto0 = Buffer.from("cposix\nsystem\n(S'true'\ntR.", 'latin1');
    expect(() => parsePickle(proto0, 'evil.pickle')).toThrow(FormatError);
    expect(() => parsePickle(proto0, 'evil.pickle')).toThrow(
      /evil\.pickle: refusing to load: the pickle references 'posix\.system'/,
    );
    const proto4 = Buffer.from(
      '8004951f000000000000008c086275696c74696e73948c046576616c9493948c03312b3194859452942e',
      'hex',
    );
    expect(() => parsePickle(proto4, 'evil4.pickle')).toThrow(
      /refusing to load: the pickle references 'builtins\.eval'/,
    );
  });

  it('rejects truncated and non-pickle input', () => {
    const good = readFileSync(fixturePath('cvjena/released/cifar100.unitsphere.pickle'));
    expect(() => parsePickle(good.subarray(0, 5000), 'cut.pickle')).toThrow(/cut\.pickle: truncated pickle/);
    expect(() => parsePickle(Buffer.from('{"json": 1}'), 'x.json')).toThrow(
      /x\.json: unsupported or unsafe pickle opcode/,
    );
  });

  it('reads numpy arrays, scalars and python values written by every protocol', () => {
    const gen = `import pickle,sys,numpy
d={'f32': numpy.arange(6,dtype='float32').reshape(2,3), 'i64': numpy.array([1,-2,3]), 'be': numpy.array([1.5,2.5],dtype='>f8'),
   'fort': numpy.asfortranarray(numpy.arange(6.).reshape(2,3)), 'u8': numpy.frombuffer(b'\\x00\\x01\\xff',dtype='uint8'),
   'sc': numpy.float32(0.25), 'n': None, 't': (1,'a',True), 'big': 2**70, 'neg': -300000, 'f': 3.5, 'b': b'\\x00ab',
   7: 'int key', 'nested': {'feat': {0: [1.0, 2.0]}}}
for p in range(0, pickle.HIGHEST_PROTOCOL+1):
    pickle.dump(d, open(sys.argv[1]+'/p%d.pickle'%p,'wb'), protocol=p)`;
    py(gen, [dir]);
    for (let p = 0; p <= 5; p++) {
      const v = readPickle(join(dir, `p${p}.pickle`)) as Map<unknown, unknown>;
      const f32 = v.get('f32') as NdArray;
      expect(f32.dtype, `protocol ${p}`).toBe('float32');
      expect(f32.shape).toEqual([2, 3]);
      expect(Array.from(f32.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(Array.from((v.get('i64') as NdArray).data as BigInt64Array)).toEqual([1n, -2n, 3n]);
      expect(Array.from((v.get('be') as NdArray).data as Float64Array)).toEqual([1.5, 2.5]);
      expect(Array.from((v.get('fort') as NdArray).data as Float64Array)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(Array.from((v.get('u8') as NdArray).data as Uint8Array)).toEqual([0, 1, 255]);
      expect(v.get('sc')).toBe(0.25);
      expect(v.get('n')).toBeNull();
      expect(v.get('t')).toEqual([1, 'a', true]);
      expect(v.get('big')).toBe(2n ** 70n);
      expect(v.get('neg')).toBe(-300000);
      expect(v.get('f')).toBe(3.5);
      expect(v.get(7)).toBe('int key');
      expect(
        ((v.get('nested') as Map<string, Map<number, number[]>>).get('feat') as Map<number, number[]>).get(0),
      ).toEqual([1, 2]);
      if (p >= 3) expect(Array.from(v.get('b') as Uint8Array)).toEqual([0, 97, 98]);
    }
  });
});

describe('encodePickle', () => {
  it('round-trips through our reader', async () => {
    const { encodePickle } = await import('../src/index.js');
    const value = new Map<unknown, unknown>([
      ['embedding', { dtype: 'float64', shape: [2, 2], data: new Float64Array([1, 0.5, -0.25, 1e-300]) }],
      ['ind2label', [3, 'x', -7, 2 ** 40, 2n ** 70n]],
      [
        'label2ind',
        new Map<unknown, unknown>([
          [3, 0],
          ['x', 1],
        ]),
      ],
      ['f', 2.5],
      ['n', null],
    ]);
    const back = parsePickle(encodePickle(value)) as Map<string, unknown>;
    expect(Array.from((back.get('embedding') as NdArray).data as Float64Array)).toEqual([1, 0.5, -0.25, 1e-300]);
    expect(back.get('ind2label')).toEqual([3, 'x', -7, 2 ** 40, 2n ** 70n]);
    expect((back.get('label2ind') as Map<unknown, number>).get('x')).toBe(1);
    expect(back.get('f')).toBe(2.5);
    expect(back.get('n')).toBeNull();
  });

  it('writes pickles that Python and numpy load', async () => {
    const { encodePickle, writeFileAtomic } = await import('../src/index.js');
    const p = join(dir, 'ours.pickle');
    writeFileAtomic(
      p,
      encodePickle({
        embedding: { dtype: 'float64', shape: [2, 3], data: new Float64Array([1, 2, 3, 4, 5, 6.5]) },
        ind2label: [10, 20],
        label2ind: new Map([
          [10, 0],
          [20, 1],
        ]),
        neg: -123456789012,
      }),
    );
    const out = py(
      "import pickle,sys; d=pickle.load(open(sys.argv[1],'rb')); e=d['embedding']; " +
        "print(e.dtype, e.shape, e.tolist(), d['ind2label'], d['label2ind'], d['neg'])",
      [p],
    ).trim();
    expect(out).toBe('float64 (2, 3) [[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]] [10, 20] {10: 0, 20: 1} -123456789012');
  });
});

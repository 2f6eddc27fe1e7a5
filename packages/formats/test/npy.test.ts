import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, encodeNpy, parseNpy, readNpy, writeNpy } from '../src/index.js';
import { py } from './python.js';

const dir = mkdtempSync(join(tmpdir(), 'npy-'));

describe('npy', () => {
  it('round-trips float32 / int64 / uint8 arrays through encode and parse', () => {
    const f = new Float32Array([1.5, -2, 3.25, Number.NaN, 0, 1e-30]);
    const back = parseNpy(encodeNpy({ data: f, shape: [2, 3] }));
    expect(back.dtype).toBe('float32');
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data as Float32Array)).toEqual(Array.from(f));
    const i = parseNpy(encodeNpy({ data: new BigInt64Array([1n, -5n, 9007199254740993n]), shape: [3] }));
    expect(i.dtype).toBe('int64');
    expect(Array.from(i.data as BigInt64Array)).toEqual([1n, -5n, 9007199254740993n]);
    const u = parseNpy(encodeNpy({ data: new Uint8Array([0, 255]), shape: [2, 1] }));
    expect(u.dtype).toBe('uint8');
  });

  it('writes files numpy reads, and reads numpy files (C and Fortran order, big-endian)', () => {
    const ours = join(dir, 'ours.npy');
    writeNpy(ours, { data: new Float32Array([0, 1, 2, 3, 4, 5]), shape: [2, 3] });
    const seen = py('import numpy,sys; a=numpy.load(sys.argv[1]); print(a.dtype, a.shape, a.tolist())', [ours]).trim();
    expect(seen).toBe('float32 (2, 3) [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]');
    const theirs = join(dir, 'theirs');
    py(
      `import numpy,sys
a=numpy.arange(24,dtype='>f8').reshape(2,3,4)/7
numpy.save(sys.argv[1]+'_c.npy', a)
numpy.save(sys.argv[1]+'_f.npy', numpy.asfortranarray(a))
numpy.save(sys.argv[1]+'_i.npy', numpy.array([3,-1,7],dtype='<i8'))`,
      [theirs],
    );
    const expected = Array.from({ length: 24 }, (_, k) => k / 7);
    for (const suffix of ['_c', '_f']) {
      const a = readNpy(`${theirs}${suffix}.npy`);
      expect(a.dtype).toBe('float64');
      expect(a.shape).toEqual([2, 3, 4]);
      expect(Array.from(a.data as Float64Array)).toEqual(expected);
    }
    expect(Array.from(readNpy(`${theirs}_i.npy`).data as BigInt64Array)).toEqual([3n, -1n, 7n]);
  });

  it('rejects non-npy, truncated and missing files with the file name', () => {
    const bad = join(dir, 'bad.npy');
    writeFileSync(bad, 'hello');
    expect(() => readNpy(bad)).toThrow(FormatError);
    expect(() => readNpy(bad)).toThrow(/bad\.npy: not a NumPy \.npy file/);
    const trunc = join(dir, 'trunc.npy');
    writeFileSync(trunc, encodeNpy({ data: new Float32Array(10), shape: [10] }).subarray(0, 150));
    expect(() => readNpy(trunc)).toThrow(/trunc\.npy: data is truncated/);
    expect(() => readNpy(join(dir, 'nope.npy'))).toThrow(/nope\.npy: cannot read \(ENOENT\)/);
  });

  it('leaves no temporary files behind', () => {
    const d = mkdtempSync(join(tmpdir(), 'npy-atomic-'));
    writeNpy(join(d, 'x.npy'), { data: new Float32Array(3), shape: [3] });
    expect(readdirSync(d)).toEqual(['x.npy']);
  });
});

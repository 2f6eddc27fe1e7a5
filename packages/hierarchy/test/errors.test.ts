import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  HierarchyError,
  computeClassEmbedding,
  parseHierarchy,
  readClassEmbedding,
  readClassList,
  readHierarchy,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'hier-err-'));
const file = (name: string, text: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('bad input gives a clear error naming file and line', () => {
  it('malformed line', () => {
    const p = file('malformed.txt', '1 2\n\n3\n');
    expect(() => readHierarchy(p)).toThrow(HierarchyError);
    expect(() => readHierarchy(p)).toThrow(`${p}:3: malformed line '3': expected 'parent child'`);
  });

  it('non-integer id without --str_ids', () => {
    const p = file('strings.txt', '1 2\n1 cat\n');
    expect(() => readHierarchy(p)).toThrow(`${p}:2: 'cat' is not an integer class id (use --str_ids for string ids)`);
  });

  it('cycle, with the lines that form it', () => {
    const p = file('cycle.txt', '0 1\n1 2\n2 3\n3 1\n');
    expect(() => readHierarchy(p)).toThrow(
      /cycle\.txt: the taxonomy has a cycle: 2 -> 3 \(line 3\), 3 -> 1 \(line 4\), 1 -> 2 \(line 2\)/,
    );
  });

  it('classes without a common ancestor', () => {
    const p = file('forest.txt', '0 1\n0 2\n5 6\n5 7\n');
    const h = readHierarchy(p);
    expect(() => computeClassEmbedding(h, h.leaves(), { method: 'unitsphere' })).toThrow(
      /forest\.txt: classes '1' and '6' have no common ancestor \(roots '0' \(line 1\) and '5' \(line 3\)\)/,
    );
  });

  it('class list entry missing from the taxonomy', () => {
    const h = parseHierarchy('0 1\n0 2\n', { source: 'tax.txt' });
    const p = file('classes.txt', '1 one\n2 two\n9 nine\n');
    expect(() => readClassList(p, { hierarchy: h })).toThrow(`${p}:3: class '9' is not in the taxonomy tax.txt`);
    const ok = file('classes-ok.txt', '2 two\n1 one\n2 again\n\n');
    expect(readClassList(ok, { hierarchy: h })).toEqual([2, 1]);
  });

  it('non positive definite similarities (DAG) for unitsphere and approx_sim', () => {
    // b has two parents, p (with a) and q (with c); a long chain elsewhere makes max_height 6, so
    // S(a,b) = S(b,c) = 5/6 while S(a,c) = 0: not positive semi-definite.
    const h = parseHierarchy('r p\nr q\np a\np b\nq b\nq c\nr x1\nx1 x2\nx2 x3\nx3 x4\nx4 x5\n', {
      strIds: true,
      source: 'dag.txt',
    });
    expect(h.isTree()).toBe(false);
    expect(() => computeClassEmbedding(h, h.leaves(), { method: 'unitsphere' })).toThrow(
      /unitsphere: the class similarity matrix is not positive definite \(the factorisation fails at class 'c' \(row 2\)\)/,
    );
    expect(() => computeClassEmbedding(h, h.leaves(), { method: 'approx_sim' })).toThrow(
      /approx_sim: the class similarity matrix is not positive semi-definite \(smallest eigenvalue -1\.314e-1\)/,
    );
    // mds still embeds it (negative eigenvalues are dropped), without NaN
    const mds = computeClassEmbedding(h, h.leaves(), { method: 'mds' });
    expect(mds.embedding.some(Number.isNaN)).toBe(false);
  });

  it('missing files', () => {
    expect(() => readHierarchy(join(dir, 'nope.txt'))).toThrow(
      /nope\.txt: cannot read the taxonomy file \(no such file\)/,
    );
    expect(() => readClassEmbedding(join(dir, 'nope.json'))).toThrow(
      /nope\.json: cannot read the class embedding file/,
    );
  });

  it('hostile pickle is refused, never executed', () => {
    const marker = join(dir, 'pwned');
    const p = file('evil.pickle', Buffer.from(`cos\nsystem\n(S'touch ${marker}'\ntR.`, 'latin1'));
    expect(() => readClassEmbedding(p)).toThrow(/evil\.pickle: refusing to load: the pickle references 'os\.system'/);
  });

  it('embedding file with inconsistent rows', () => {
    const p = file('bad.json', JSON.stringify({ ind2label: [0, 1], embedding: [[1, 0]] }));
    expect(() => readClassEmbedding(p)).toThrow(`${p}: 2 labels in 'ind2label' but 1 embedding rows`);
  });
});

import { describe, expect, it } from 'vitest';
import { readHierarchy } from '../src/index.js';
import { TAX, type TaxName, refJson } from './helpers.js';

interface RefHierarchy {
  nodes: number[];
  heights: [number, number][] | number[];
  depth_max: [number, number][] | number[];
  max_height: number;
  classes: number[];
  is_tree: boolean;
  lcs_height_int: number[][];
  lcs_depth_int: number[][];
  wup_den_int: number[][];
  parents: [number, number[]][];
}

const asMap = (v: unknown, nodes: number[]): Map<number, number> =>
  new Map(
    Array.isArray(v) && Array.isArray(v[0]) ? (v as [number, number][]) : nodes.map((n, i) => [n, (v as number[])[i]]),
  );

describe.each([
  ['cifar', 'hierarchies/cifar.json'],
  ['nab', 'hierarchies/nab.json.gz'],
] as [TaxName, string][])('%s taxonomy parsed as the reference parses it', (name, refFile) => {
  const ref = refJson<RefHierarchy>(refFile);
  const h = readHierarchy(TAX[name].file, { isA: TAX[name].isA });

  it('has the same nodes, parents, heights, depths and max height', () => {
    expect(new Set(h.nodes)).toEqual(new Set(ref.nodes));
    const heights = asMap(ref.heights, ref.nodes);
    const depths = asMap(ref.depth_max, ref.nodes);
    for (const n of ref.nodes) {
      expect(h.height(n)).toBe(heights.get(n));
      expect(h.depth(n)).toBe(depths.get(n));
    }
    for (const [child, parents] of ref.parents) expect(h.parents(child)).toEqual(parents);
    expect(h.maxHeight).toBe(ref.max_height);
    expect(h.isTree()).toBe(ref.is_tree);
  });

  it('yields the leaves in the reference order', () => {
    expect(h.leaves()).toEqual(ref.classes);
  });

  it('matches lcs_height and WUP bit for bit, as matrices and per pair', () => {
    const n = ref.classes.length;
    const lcs = h.similarityMatrix(ref.classes, 'LCS_HEIGHT');
    const wup = h.similarityMatrix(ref.classes, 'WUP');
    const dist = h.distanceMatrix(ref.classes);
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const lh = ref.lcs_height_int[i][j] / ref.max_height;
        const w = (2 * ref.lcs_depth_int[i][j]) / ref.wup_den_int[i][j];
        if (lcs[i * n + j] !== 1.0 - lh) mismatches++;
        if (wup[i * n + j] !== w) mismatches++;
        if (dist[i * n + j] !== (i === j ? 0 : lh)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
    const [a, b] = [ref.classes[3], ref.classes[n - 2]];
    expect(h.lcsHeight(a, b)).toBe(ref.lcs_height_int[3][n - 2] / ref.max_height);
    expect(h.wup(a, b)).toBe((2 * ref.lcs_depth_int[3][n - 2]) / ref.wup_den_int[3][n - 2]);
    expect(h.depth(h.lcs(a, b))).toBe(ref.lcs_depth_int[3][n - 2]);
  });
});

describe('hierarchy semantics on a hand-made DAG', () => {
  // r -> a -> x;  r -> b -> x;  a -> y;  r -> c -> d -> z   (x has two parents)
  const text = 'r a\nr b\na x\nb x\na y\nr c\nc d\nd z\n';
  const h = readHierarchyFromText(text);
  it('computes depths as longest paths, heights, lcs, shortest paths and WUP', () => {
    expect(h.depth('r')).toBe(1);
    expect(h.depth('x')).toBe(3);
    expect(h.height('r')).toBe(3);
    expect(h.isTree()).toBe(false);
    expect(h.lcs('x', 'y')).toBe('a');
    expect(h.lcs('x', 'x')).toBe('x');
    expect(h.shortestPathLength('x', 'z')).toBe(5);
    expect(h.wup('x', 'y')).toBe((2 * 2) / (3 + 3));
    expect(h.wup('y', 'y')).toBe(1);
    expect(h.leaves()).toEqual(['x', 'y', 'z']);
    expect(h.pathToRoot('z')).toEqual(['z', 'd', 'c', 'r']);
  });
});

import { parseHierarchy } from '../src/index.js';
function readHierarchyFromText(text: string) {
  return parseHierarchy(text, { strIds: true, source: 'dag.txt' });
}

describe('id semantics', () => {
  it('treats integer ids numerically like Python int() ("007" is 7, "1_0" is 10)', () => {
    const h = parseHierarchy('007 1_0\n7 +3\n', { source: 't.txt' });
    expect(h.nodes).toEqual([7, 10, 3]);
    expect(h.children(7)).toEqual([10, 3]);
  });
  it('keeps the rest of the line as the child with string ids (spaces inside)', () => {
    const h = parseHierarchy('animal big cat\nanimal dog\n\n', { strIds: true });
    expect(h.children('animal')).toEqual(['big cat', 'dog']);
  });
});

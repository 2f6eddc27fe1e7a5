import { readFileSync } from 'node:fs';
import { HierarchyError } from './errors.js';
import { type ClassId, requireId } from './ids.js';

export interface ParseOptions {
  /** Lines are `child parent` (is-a) instead of `parent child`. */
  isA?: boolean;
  /** Keep ids as strings instead of integers. */
  strIds?: boolean;
}

export type SimilarityKind = 'LCS_HEIGHT' | 'WUP';

/**
 * A class taxonomy as the reference's `ClassHierarchy` sees it (spec §2.1-2.3): parent lists and child lists in
 * first-appearance order (duplicate edges kept), heights from the leaves, depths as the longest path from a root
 * (roots have depth 1), lowest common subsumer = deepest common ancestor.
 *
 * Nodes are numbered by first appearance in the file; all work happens on those indices.
 */
export class Hierarchy {
  /** Node ids in first-appearance order (index = internal node number). */
  readonly nodes: ClassId[];
  readonly source: string;
  readonly maxHeight: number;
  private readonly index: Map<ClassId, number>;
  private readonly parentIdx: number[][];
  private readonly childIdx: number[][];
  private readonly heights: Int32Array;
  private readonly depths: Int32Array;
  private readonly edgeLines: Map<string, number>;
  private readonly upCache = new Map<number, Map<number, number>>();
  private ancCache = new Map<number, Int32Array>();
  private tree: boolean | undefined;

  constructor(edges: Array<{ parent: ClassId; child: ClassId; line: number }>, source = '<hierarchy>') {
    this.source = source;
    this.nodes = [];
    this.index = new Map();
    this.parentIdx = [];
    this.childIdx = [];
    this.edgeLines = new Map();
    const node = (id: ClassId): number => {
      let i = this.index.get(id);
      if (i === undefined) {
        i = this.nodes.length;
        this.index.set(id, i);
        this.nodes.push(id);
        this.parentIdx.push([]);
        this.childIdx.push([]);
      }
      return i;
    };
    for (const { parent, child, line } of edges) {
      const p = node(parent);
      const c = node(child);
      this.childIdx[p].push(c);
      this.parentIdx[c].push(p);
      if (!this.edgeLines.has(`${p},${c}`)) this.edgeLines.set(`${p},${c}`, line);
    }
    if (this.nodes.length === 0) throw new HierarchyError(`${source}: the taxonomy is empty (no 'parent child' lines)`);
    const order = this.topologicalOrder();
    this.heights = new Int32Array(this.nodes.length);
    for (let k = order.length - 1; k >= 0; k--) {
      const n = order[k];
      let h = 0;
      for (const c of this.childIdx[n]) h = Math.max(h, this.heights[c] + 1);
      this.heights[n] = h;
    }
    this.depths = new Int32Array(this.nodes.length);
    for (const n of order) {
      let d = 1;
      for (const p of this.parentIdx[n]) d = Math.max(d, this.depths[p] + 1);
      this.depths[n] = d;
    }
    let mh = 0;
    for (const h of this.heights) mh = Math.max(mh, h);
    this.maxHeight = mh;
  }

  /** Roots first; throws naming the file lines of a cycle if there is one. */
  private topologicalOrder(): number[] {
    const n = this.nodes.length;
    const indeg = new Int32Array(n);
    for (let i = 0; i < n; i++) indeg[i] = this.parentIdx[i].length;
    const order: number[] = [];
    for (let i = 0; i < n; i++) if (indeg[i] === 0) order.push(i);
    for (let k = 0; k < order.length; k++) {
      for (const c of this.childIdx[order[k]]) if (--indeg[c] === 0) order.push(c);
    }
    if (order.length < n) throw new HierarchyError(this.describeCycle(indeg));
    return order;
  }

  private describeCycle(indeg: Int32Array): string {
    // Nodes left with parents form or hang below a cycle: walk parents inside that set until a node repeats.
    let cur = indeg.findIndex((d) => d > 0);
    const seen = new Map<number, number>();
    const path: number[] = [];
    while (!seen.has(cur)) {
      seen.set(cur, path.length);
      path.push(cur);
      cur = this.parentIdx[cur].find((p) => indeg[p] > 0) as number;
    }
    const cycle = path.slice(seen.get(cur)).reverse(); // parent -> child order
    const steps = cycle.map((p, i) => {
      const c = cycle[(i + 1) % cycle.length];
      return `${this.nodes[p]} -> ${this.nodes[c]} (line ${this.edgeLines.get(`${p},${c}`)})`;
    });
    return `${this.source}: the taxonomy has a cycle: ${steps.join(', ')}`;
  }

  private idx(id: ClassId): number {
    const i = this.index.get(id);
    if (i === undefined) throw new HierarchyError(`${this.source}: class '${id}' is not in the taxonomy`);
    return i;
  }

  has(id: ClassId): boolean {
    return this.index.has(id);
  }

  parents(id: ClassId): ClassId[] {
    return this.parentIdx[this.idx(id)].map((i) => this.nodes[i]);
  }

  children(id: ClassId): ClassId[] {
    return this.childIdx[this.idx(id)].map((i) => this.nodes[i]);
  }

  height(id: ClassId): number {
    return this.heights[this.idx(id)];
  }

  depth(id: ClassId): number {
    return this.depths[this.idx(id)];
  }

  /** The reference's `is_tree`: no node has more than one parent entry. */
  isTree(): boolean {
    if (this.tree === undefined) this.tree = this.parentIdx.every((p) => p.length <= 1);
    return this.tree;
  }

  roots(): ClassId[] {
    return this.nodes.filter((_, i) => this.parentIdx[i].length === 0);
  }

  /**
   * Default target classes: the leaves. Integer ids are sorted numerically (as the reference). String ids are
   * sorted by code point (Python's `sorted()` order): the reference iterates a Python set here, whose order
   * changes with the hash seed (quirk Q1), so any fixed order is as faithful as another; this one does not
   * depend on the order of lines in the file.
   */
  leaves(): ClassId[] {
    const leaves = this.nodes.filter((_, i) => this.childIdx[i].length === 0);
    if (leaves.every((l) => typeof l === 'number')) return (leaves as number[]).sort((a, b) => a - b);
    return (leaves as string[]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Ancestors (the node itself included) with their minimal number of upward edges. */
  private up(n: number): Map<number, number> {
    let m = this.upCache.get(n);
    if (!m) {
      m = new Map([[n, 0]]);
      let frontier = [n];
      for (let d = 1; frontier.length > 0; d++) {
        const next: number[] = [];
        for (const f of frontier) {
          for (const p of this.parentIdx[f]) {
            if (!m.has(p)) {
              m.set(p, d);
              next.push(p);
            }
          }
        }
        frontier = next;
      }
      this.upCache.set(n, m);
    }
    return m;
  }

  /** Ancestors (itself included) ordered by depth descending, then node number: the LCS search order. */
  private ancestorsByDepth(n: number): Int32Array {
    let a = this.ancCache.get(n);
    if (!a) {
      a = Int32Array.from(this.up(n).keys());
      a.sort((x, y) => this.depths[y] - this.depths[x] || x - y);
      this.ancCache.set(n, a);
    }
    return a;
  }

  /** Ancestor node ids from the node itself up to a root (the first parent at each step). */
  pathToRoot(id: ClassId): ClassId[] {
    const path: ClassId[] = [];
    let n: number | undefined = this.idx(id);
    while (n !== undefined) {
      path.push(this.nodes[n]);
      n = this.parentIdx[n][0];
    }
    return path;
  }

  private lcsIdx(a: number, b: number): number {
    if (a === b) return a;
    const ua = this.up(a);
    for (const h of this.ancestorsByDepth(b)) if (ua.has(h)) return h;
    return this.noCommonAncestor(a, b);
  }

  private noCommonAncestor(a: number, b: number): never {
    const root = (n: number) => {
      let r = n;
      while (this.parentIdx[r].length > 0) r = this.parentIdx[r][0];
      const line = this.childIdx[r].length > 0 ? ` (line ${this.edgeLines.get(`${r},${this.childIdx[r][0]}`)})` : '';
      return `'${this.nodes[r]}'${line}`;
    };
    throw new HierarchyError(
      `${this.source}: classes '${this.nodes[a]}' and '${this.nodes[b]}' have no common ancestor ` +
        `(roots ${root(a)} and ${root(b)}); the taxonomy needs a single root`,
    );
  }

  /**
   * Lowest common subsumer: the deepest common ancestor. Ties (possible only in DAGs) go to the node that appears
   * first in the file; the reference takes whichever its Python set yields first (quirk Q7, hash-seed dependent).
   */
  lcs(a: ClassId, b: ClassId): ClassId {
    return this.nodes[this.lcsIdx(this.idx(a), this.idx(b))];
  }

  /** height(lcs(a, b)) / maxHeight: the reference's semantic dissimilarity in [0, 1]. */
  lcsHeight(a: ClassId, b: ClassId): number {
    return this.heights[this.lcsIdx(this.idx(a), this.idx(b))] / this.maxHeight;
  }

  shortestPathLength(a: ClassId, b: ClassId): number {
    return this.splIdx(this.idx(a), this.idx(b));
  }

  private splIdx(a: number, b: number): number {
    const ua = this.up(a);
    const ub = this.up(b);
    let best = Infinity;
    for (const [h, d] of ub) {
      const da = ua.get(h);
      if (da !== undefined && da + d < best) best = da + d;
    }
    if (best === Infinity) return this.noCommonAncestor(a, b);
    return best;
  }

  private wupIdx(a: number, b: number, l: number): number {
    const ds = this.depths[l];
    // In a tree the path from a node up to an ancestor is unique, so its length is the depth difference.
    const d1 = this.isTree() ? this.depths[a] : ds + this.splIdx(a, l);
    const d2 = this.isTree() ? this.depths[b] : ds + this.splIdx(b, l);
    return (2.0 * ds) / (d1 + d2);
  }

  /** Wu-Palmer similarity 2·depth(lcs) / (d1 + d2) as the reference computes it (spec §2.3). */
  wup(a: ClassId, b: ClassId): number {
    const ia = this.idx(a);
    const ib = this.idx(b);
    return this.wupIdx(ia, ib, this.lcsIdx(ia, ib));
  }

  /**
   * n×n row-major class similarities. LCS_HEIGHT: 1 - height(lcs)/maxHeight with the true diagonal
   * (1 - height(a)/maxHeight, below 1 for internal-node classes: quirk Q5, as hierarchical_precision uses it);
   * WUP: Wu-Palmer.
   */
  similarityMatrix(classes: ClassId[], kind: SimilarityKind): Float64Array {
    const ids = classes.map((c) => this.idx(c));
    const n = ids.length;
    const out = new Float64Array(n * n);
    const H = this.maxHeight;
    this.forEachLcs(ids, (i, j, l) => {
      const v = kind === 'WUP' ? this.wupIdx(ids[i], ids[j], l) : 1.0 - this.heights[l] / H;
      out[i * n + j] = v;
      out[j * n + i] = v;
    });
    return out;
  }

  /** n×n row-major lcs_height dissimilarities with a zero diagonal: the `D` of compute_class_embedding. */
  distanceMatrix(classes: ClassId[]): Float64Array {
    const ids = classes.map((c) => this.idx(c));
    const n = ids.length;
    const out = new Float64Array(n * n);
    const H = this.maxHeight;
    this.forEachLcs(ids, (i, j, l) => {
      if (i === j) return;
      const v = this.heights[l] / H;
      out[i * n + j] = v;
      out[j * n + i] = v;
    });
    return out;
  }

  /** Rows `rows` of distanceMatrix(classes), as a rows.length × n row-major block (no n×n matrix needed). */
  distanceRows(classes: ClassId[], rows: number[]): Float64Array {
    const ids = classes.map((c) => this.idx(c));
    const n = ids.length;
    const out = new Float64Array(rows.length * n);
    const stamp = new Int32Array(this.nodes.length).fill(-1);
    const H = this.maxHeight;
    rows.forEach((i, r) => {
      for (const h of this.ancestorsByDepth(ids[i])) stamp[h] = r;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const l = deepestMarked(this.ancestorsByDepth(ids[j]), stamp, r);
        if (l < 0) this.noCommonAncestor(ids[i], ids[j]);
        out[r * n + j] = this.heights[l] / H;
      }
    });
    return out;
  }

  /** Calls fn(i, j, lcs) for i <= j. Marks row i's ancestors once, then scans each j's ancestors deepest first. */
  private forEachLcs(ids: number[], fn: (i: number, j: number, lcs: number) => void): void {
    const n = ids.length;
    const stamp = new Int32Array(this.nodes.length).fill(-1);
    const anc = ids.map((c) => this.ancestorsByDepth(c));
    for (let i = 0; i < n; i++) {
      for (const h of anc[i]) stamp[h] = i;
      for (let j = i; j < n; j++) {
        const l = deepestMarked(anc[j], stamp, i);
        if (l < 0) this.noCommonAncestor(ids[i], ids[j]);
        fn(i, j, l);
      }
    }
  }

  /**
   * The similarity S = 1 - D (diagonal 1) as a linear operator in O(nodes) per product, when the classes are
   * distinct nodes of a tree: S[i][j] = s(lcs(i, j)) with s(v) = 1 - height(v)/H telescopes into a sum of
   * per-node weights w(v) = s(v) - s(parent(v)) along the root path, so S·x needs one bottom-up pass (subtree
   * sums) and one top-down pass. Returns undefined for DAGs.
   */
  similarityOperator(classes: ClassId[]): ((x: Float64Array, y: Float64Array) => void) | undefined {
    if (!this.isTree()) return undefined;
    const ids = classes.map((c) => this.idx(c));
    if (new Set(ids).size !== ids.length) return undefined;
    // Classes under different roots have no LCS: fail as the dense path would.
    const rootOf = (n: number) => {
      while (this.parentIdx[n].length > 0) n = this.parentIdx[n][0];
      return n;
    };
    for (let i = 1; i < ids.length; i++) if (rootOf(ids[i]) !== rootOf(ids[0])) this.noCommonAncestor(ids[0], ids[i]);
    const order = this.topologicalOrder();
    const H = this.maxHeight;
    const w = new Float64Array(this.nodes.length);
    for (let v = 0; v < this.nodes.length; v++) {
      const p = this.parentIdx[v][0];
      w[v] = p === undefined ? 1 - this.heights[v] / H : (this.heights[p] - this.heights[v]) / H;
    }
    // The diagonal must be 1 even for internal-node classes, whose path sum is only s(v).
    const diagFix = ids.map((v) => this.heights[v] / H);
    const sums = new Float64Array(this.nodes.length);
    return (x, y) => {
      sums.fill(0);
      for (let i = 0; i < ids.length; i++) sums[ids[i]] += x[i];
      for (let k = order.length - 1; k >= 0; k--) {
        const v = order[k];
        const p = this.parentIdx[v][0];
        if (p !== undefined) sums[p] += sums[v];
      }
      // Top-down: acc(v) = acc(parent) + w(v)·sums(v); reuse `sums` in place (parents are finished first).
      for (const v of order) {
        const p = this.parentIdx[v][0];
        sums[v] = (p === undefined ? 0 : sums[p]) + w[v] * sums[v];
      }
      for (let i = 0; i < ids.length; i++) y[i] = sums[ids[i]] + diagFix[i] * x[i];
    };
  }
}

/** Parses taxonomy text as the reference's `ClassHierarchy.from_file` (spec §2.1). */
export function parseHierarchy(text: string, options: ParseOptions & { source?: string } = {}): Hierarchy {
  const source = options.source ?? '<hierarchy>';
  const edges: Array<{ parent: ClassId; child: ClassId; line: number }> = [];
  const lines = text.split(/\r?\n/);
  for (let k = 0; k < lines.length; k++) {
    const raw = lines[k].trim();
    if (raw === '') continue;
    const m = /^(\S+)\s+(.+)$/.exec(raw);
    const where = `${source}:${k + 1}`;
    if (!m) {
      throw new HierarchyError(
        `${where}: malformed line '${raw}': expected '${options.isA ? 'child parent' : 'parent child'}'`,
      );
    }
    let a = requireId(m[1], options.strIds, where);
    let b = requireId(m[2], options.strIds, where);
    if (options.isA) [a, b] = [b, a];
    edges.push({ parent: a, child: b, line: k + 1 });
  }
  return new Hierarchy(edges, source);
}

export function readHierarchy(path: string, options: ParseOptions = {}): Hierarchy {
  return parseHierarchy(readText(path, 'taxonomy'), { ...options, source: path });
}

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HierarchyError(
      `${path}: cannot read the ${what} file (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`,
    );
  }
}

/** The deepest of a class's ancestors (given deepest first) that carries `mark`: the LCS with the marked row, or -1. */
function deepestMarked(ancestors: ArrayLike<number>, stamp: Int32Array, mark: number): number {
  for (let k = 0; k < ancestors.length; k++) if (stamp[ancestors[k]] === mark) return ancestors[k];
  return -1;
}

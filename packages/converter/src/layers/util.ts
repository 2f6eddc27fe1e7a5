import type { Dim, Value } from '../graph.js';

/** Small shape and permutation helpers shared by the graph walk and the layer handlers. */
export const ident = (r: number): number[] => Array.from({ length: r }, (_, i) => i);
export const channelsFirstPerm = (r: number): number[] => [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
export const permKey = (p: number[]): string => p.join(',');
export const invert = (p: number[]): number[] => {
  const q = new Array<number>(p.length);
  p.forEach((v, i) => (q[v] = i));
  return q;
};

export function physShape(v: Value): Dim[] {
  return v.perm.map((k) => v.shape[k]);
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function pair(v: unknown, n = 2): number[] {
  if (Array.isArray(v)) return v.map(Number);
  return new Array(n).fill(Number(v));
}

export function product(a: number[]): number {
  return a.reduce((x, y) => x * y, 1);
}

export function fmtShape(s: (number | null)[]): string {
  return `[${s.map((d) => (d === null ? 'None' : d)).join(', ')}]`;
}

export function f32bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A value computed element-wise from `v`: same shape and layout, no transposed copies yet. */
export function like(v: Value, name: string): Value {
  return { ...v, views: undefined, name };
}

/** Transposes a row-major array `a` of shape `shape` by `perm` (output axis i = input axis perm[i]). */
export function transposeArray(a: Float32Array, shape: number[], perm: number[]): Float32Array {
  const r = shape.length;
  if (r > 4) throw new Error(`transposeArray: rank ${r} > 4`);
  const inStrides = new Array<number>(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  // Padded to rank 4 so one set of plain nested loops serves every rank (25M-weight models convert in ~0.1 s).
  const pad = 4 - r;
  const od = [...new Array(pad).fill(1), ...perm.map((p) => shape[p])];
  const st = [...new Array(pad).fill(0), ...perm.map((p) => inStrides[p])];
  const out = new Float32Array(a.length);
  let o = 0;
  for (let i0 = 0; i0 < od[0]; i0++) {
    const b0 = i0 * st[0];
    for (let i1 = 0; i1 < od[1]; i1++) {
      const b1 = b0 + i1 * st[1];
      for (let i2 = 0; i2 < od[2]; i2++) {
        const b2 = b1 + i2 * st[2];
        const s3 = st[3];
        for (let i3 = 0, n3 = od[3]; i3 < n3; i3++) out[o++] = a[b2 + i3 * s3];
      }
    }
  }
  return out;
}

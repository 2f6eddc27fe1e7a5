// The inner loops of bootstrap.ts: the seeded draws (mulberry32, inlined) and many sums over one draw. Each sum keeps
// the item order and the accumulation from 0 of a plain `s += x[j]` loop, so it is bit-identical to summing that
// value vector alone; only the loads are shared. Eight value vectors are interleaved per item (one 64-byte row) and
// summed in eight independent accumulators: one cache line per drawn item, and no add waits on the previous one.

const WIDTH = 8;

/** mulberry32 as seededRandom in bootstrap.ts: the next state, and the value in [0, 1) of a state. */
function step(s: number): number {
  return (s + 0x6d2b79f5) >>> 0;
}
function output(s: number): number {
  let t = Math.imul(s ^ (s >>> 15), s | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** The state seededRandom(seed) starts from. */
export function initialState(seed: number): number {
  return seed >>> 0;
}

/**
 * idx[i] = floor(rnd() * n) * scale for i = 0..n-1 from the stream at `state`; returns the state after the draws.
 * (scale = PackedVectors.width: the drawn items' row offsets, saving sumAt a multiply per item.)
 */
export function drawIndices(state: number, idx: Int32Array, n: number, scale = 1): number {
  let s = state;
  for (let i = 0; i < n; i++) {
    s = step(s);
    idx[i] = Math.floor(output(s) * n) * scale;
  }
  return s;
}

/** sign[i] = -1 where rnd() < 0.5, else +1 (sign * x is exactly -x or x, NaN and -0 included); returns the state. */
export function drawSigns(state: number, sign: Float64Array, n: number): number {
  let s = state;
  for (let i = 0; i < n; i++) {
    s = step(s);
    sign[i] = output(s) < 0.5 ? -1 : 1;
  }
  return s;
}

/** Value vectors of n items each, packed for summing over a draw (vectors past the last full block are zeros). */
export class PackedVectors {
  /** Values per item row. */
  static readonly width = WIDTH;
  readonly count: number;
  private readonly blocks: Float64Array[] = [];

  constructor(
    vectors: ArrayLike<number>[],
    private readonly n: number,
  ) {
    this.count = vectors.length;
    for (let v0 = 0; v0 < vectors.length; v0 += WIDTH) {
      const block = new Float64Array(WIDTH * n);
      for (let k = 0; k < WIDTH && v0 + k < vectors.length; k++) {
        const v = vectors[v0 + k];
        for (let i = 0; i < n; i++) block[i * WIDTH + k] = v[i];
      }
      this.blocks.push(block);
    }
  }

  /**
   * out[v] = sum over i of vector v at item rows[i] / 8, in i order from 0 (out: sums()); rows: the drawn items'
   * row offsets, drawIndices(state, rows, n, PackedVectors.width).
   */
  sumAt(rows: Int32Array, out: Float64Array): void {
    const n = this.n;
    for (let b = 0; b < this.blocks.length; b++) {
      const m = this.blocks[b];
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0,
        s4 = 0,
        s5 = 0,
        s6 = 0,
        s7 = 0;
      for (let i = 0; i < n; i++) {
        const j = rows[i];
        s0 += m[j];
        s1 += m[j + 1];
        s2 += m[j + 2];
        s3 += m[j + 3];
        s4 += m[j + 4];
        s5 += m[j + 5];
        s6 += m[j + 6];
        s7 += m[j + 7];
      }
      store(out, b * WIDTH, s0, s1, s2, s3, s4, s5, s6, s7);
    }
  }

  /** out[v] = sum over i of sign[i] * (vector v at i), in i order from 0. */
  sumSigned(sign: Float64Array, out: Float64Array): void {
    const n = this.n;
    for (let b = 0; b < this.blocks.length; b++) {
      const m = this.blocks[b];
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0,
        s4 = 0,
        s5 = 0,
        s6 = 0,
        s7 = 0;
      for (let i = 0; i < n; i++) {
        const g = sign[i],
          j = i * WIDTH;
        s0 += g * m[j];
        s1 += g * m[j + 1];
        s2 += g * m[j + 2];
        s3 += g * m[j + 3];
        s4 += g * m[j + 4];
        s5 += g * m[j + 5];
        s6 += g * m[j + 6];
        s7 += g * m[j + 7];
      }
      store(out, b * WIDTH, s0, s1, s2, s3, s4, s5, s6, s7);
    }
  }

  /** Room for the sums of every block. */
  sums(): Float64Array {
    return new Float64Array(this.blocks.length * WIDTH);
  }
}

// prettier-ignore
function store(out: Float64Array, o: number, s0: number, s1: number, s2: number, s3: number, s4: number, s5: number,
  s6: number, s7: number): void {
  out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3; out[o + 4] = s4; out[o + 5] = s5; out[o + 6] = s6;
  out[o + 7] = s7;
}

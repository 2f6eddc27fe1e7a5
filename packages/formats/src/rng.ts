/**
 * The toolchain's seeded random numbers, in one place (browser-safe: `@semembed/formats/rng`).
 *
 * - `Rng`: sfc32 seeded through splitmix32, with independent streams; the datasets' batch order and
 *   augmentation draw from it.
 * - `mulberry32`: a one-state generator for test data, synthetic benchmark inputs and the trainer's seeded
 *   `Math.random` (tfjs initialisers without a seed).
 *
 * Neither is numpy's Mersenne Twister: runs are reproducible for a given seed in this toolchain, not
 * bit-identical to the reference's Python runs. Changing either sequence changes every seeded result.
 */

/** mulberry32: uniform floats in [0, 1) with 32 random bits, from one 32-bit state. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` floats uniform in [lo, hi) from `next` (test data, synthetic inputs). */
export function randomFloat32(n: number, next: () => number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

/** sfc32 seeded through splitmix32; `streams` give independent sequences for (seed, epoch, purpose). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `streams` are mixed into the seed, so (seed, epoch, purpose) give independent sequences. */
  constructor(seed: number, ...streams: number[]) {
    let s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (const st of streams) {
      s = (s ^ Math.imul((Math.floor(st) + 1) >>> 0, 0x27d4eb2d)) >>> 0;
      next();
    }
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    return (this.u32() * 2097152 + (this.u32() >>> 11)) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.random();
  }

  /** Integer in [0, n) (numpy's randint(n)). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle(a: Int32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}

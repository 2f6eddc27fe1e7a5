/**
 * Small seeded PRNG (sfc32, seeded through splitmix32). Not numpy's Mersenne Twister: batches are
 * reproducible for a given seed in this toolchain, not bit-identical to the reference's Python runs.
 */
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

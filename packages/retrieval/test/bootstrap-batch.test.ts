// The batched bootstrap (one draw of the resamples and sign flips for every metric) against the per-metric
// algorithm it replaced, written out here as it was: one seededRandom stream per metric and per test, `s += x[j]`.
// Every field must be identical (Object.is: NaN and -0 included), so a batch that drew other resamples, summed in
// another order or kept other resamples fails.
import { describe, expect, it } from 'vitest';
import {
  BootstrapBatch,
  bootstrapInterval,
  bootstrapIntervals,
  compareSets,
  metricIntervals,
  pairedDifference,
  pairedTest,
  pairedTests,
  quantileSorted,
  seededRandom,
  type Interval,
  type PairedTest,
  type RatioOfSums,
} from '../src/index.js';
import { drawIndices, drawSigns, initialState } from '../src/resample-sums.js';

interface Opts {
  resamples: number;
  seed?: number;
  level?: number;
}

function oneInterval(num: ArrayLike<number>, o: Opts, den?: ArrayLike<number>): Interval {
  const n = num.length;
  const rnd = seededRandom(o.seed ?? 0);
  const stats = new Float64Array(o.resamples);
  let kept = 0;
  for (let b = 0; b < o.resamples; b++) {
    let s = 0,
      d = 0;
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rnd() * n);
      s += num[j];
      d += den ? den[j] : 1;
    }
    if (d > 0) stats[kept++] = s / d;
  }
  let s = 0,
    d = 0;
  for (let i = 0; i < n; i++) {
    s += num[i];
    d += den ? den[i] : 1;
  }
  const sorted = stats.subarray(0, kept).sort();
  const alpha = (1 - (o.level ?? 0.95)) / 2;
  return { estimate: d > 0 ? s / d : NaN, lo: quantileSorted(sorted, alpha), hi: quantileSorted(sorted, 1 - alpha) };
}

function onePairedTest(a: ArrayLike<number>, b: ArrayLike<number>, o: Opts & { higherIsBetter?: boolean }): PairedTest {
  const n = a.length;
  const sign = o.higherIsBetter === false ? -1 : 1;
  const d = Float64Array.from({ length: n }, (_, i) => sign * (a[i] - b[i]));
  const ci = oneInterval(d, o);
  let observed = 0;
  for (let i = 0; i < n; i++) observed += d[i];
  const rnd = seededRandom((o.seed ?? 0) ^ 0x5bd1e995);
  let atLeast = 0;
  for (let r = 0; r < o.resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rnd() < 0.5 ? -d[i] : d[i];
    if (s >= observed - 1e-12 * Math.abs(observed)) atLeast++;
  }
  const lo = sign * (sign > 0 ? ci.lo : ci.hi),
    hi = sign * (sign > 0 ? ci.hi : ci.lo);
  return { difference: sign * ci.estimate, lo, hi, p: (1 + atLeast) / (1 + o.resamples) };
}

function expectSame(ours: object, ref: object, what: string): void {
  const a = ours as Record<string, unknown>,
    b = ref as Record<string, unknown>;
  expect(Object.keys(a).sort(), what).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(b))
    if (!Object.is(a[k], b[k])) expect.fail(`${what}.${k}: batched ${String(a[k])}, one at a time ${String(b[k])}`);
}

function gen(seed: number) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** Per-item metrics of the kinds the report has: continuous, 0/1, small integers / k, with NaN and -0 thrown in. */
function metrics(n: number, seed: number): Float64Array[] {
  const r = gen(seed);
  return [
    Float64Array.from({ length: n }, () => r()),
    Float64Array.from({ length: n }, () => (r() < 0.1 ? 1 : 0)),
    Float64Array.from({ length: n }, () => Math.floor(r() * 4) / 5),
    Float64Array.from({ length: n }, (_, i) => (i === 3 ? NaN : r() - 0.5)),
    Float64Array.from({ length: n }, () => (r() < 0.5 ? -0 : 0.25)),
  ];
}

describe('batched bootstrap intervals', () => {
  const o = { resamples: 300, seed: 7 };

  it('equal the per-metric intervals, ratios included (den with zero sums, resamples left out)', () => {
    const n = 57;
    const vs = metrics(n, 3);
    // mistakes: den marks the items the ratio averages over; rare ones make whole resamples without any
    const rare = Float64Array.from({ length: n }, (_, i) => (i === 5 ? 1 : 0));
    const none = new Float64Array(n);
    const ratios: RatioOfSums[] = [
      ...vs.map((num) => ({ num })),
      { num: vs[2], den: vs[1] },
      { num: vs[0], den: rare },
      { num: vs[0], den: none },
      { num: vs[0] }, // the same vector twice
      { num: Array.from(vs[0], (v) => Math.fround(v)) }, // a plain array
      { num: Float32Array.from(vs[2]) },
    ];
    const ours = bootstrapIntervals(ratios, o);
    ratios.forEach((r, i) => expectSame(ours[i], oneInterval(r.num, o, r.den), `ratio ${i}`));
    // the cases are what they claim: some resamples left out, none kept, NaN through
    const rareRef = oneInterval(vs[0], o, rare);
    expect(rareRef.lo).toBeLessThanOrEqual(rareRef.hi);
    expect(Number.isNaN(ours[7].estimate) && Number.isNaN(ours[7].lo)).toBe(true);
    expect(Number.isNaN(ours[3].hi) && !Number.isNaN(ours[3].lo)).toBe(true); // NaN sorts last
  });

  it('metricIntervals and bootstrapInterval give the same as one at a time; other lengths draw their own', () => {
    const a = metrics(40, 11),
      b = metrics(91, 12);
    const values = { x: { num: a[0] }, r: { num: a[2], den: a[1] }, y: { num: b[0] } };
    const all = metricIntervals(values, ['x', 'r', 'y'], { ...o, level: 0.9 });
    expectSame(all.x, oneInterval(a[0], { ...o, level: 0.9 }), 'x');
    expectSame(all.r, oneInterval(a[2], { ...o, level: 0.9 }, a[1]), 'r');
    expectSame(all.y, oneInterval(b[0], { ...o, level: 0.9 }), 'y');
    expectSame(bootstrapInterval(b[3], o), oneInterval(b[3], o), 'single');
  });

  it('another seed draws other resamples (the comparison above can fail)', () => {
    const v = metrics(60, 5)[0];
    const other = oneInterval(v, { ...o, seed: 8 });
    const ours = bootstrapInterval(v, o);
    expect(ours.lo === other.lo && ours.hi === other.hi).toBe(false);
    expect(ours.estimate).toBe(other.estimate);
  });
});

describe('batched paired tests', () => {
  const o = { resamples: 400, seed: 3 };

  it('equal the per-test results for both directions, ties and NaN', () => {
    const n = 64;
    const a = metrics(n, 21),
      b = metrics(n, 22);
    const pairs = [
      { a: a[0], b: b[0] },
      { a: a[0], b: b[0], higherIsBetter: false },
      { a: b[0], b: a[0], higherIsBetter: true },
      { a: a[1], b: b[1], higherIsBetter: false },
      { a: a[2], b: a[2] }, // identical: p = 1
      { a: a[3], b: b[3] }, // NaN in one query
      { a: a[4], b: b[4] },
      { a: a[0], b: Float64Array.from(a[0], (v) => v - 0.01) },
      { a: a[2], b: b[2], higherIsBetter: false },
    ];
    const ours = pairedTests(pairs, o);
    pairs.forEach((p, i) => expectSame(ours[i], onePairedTest(p.a, p.b, { ...o, ...p }), `pair ${i}`));
    expect(ours[4].p).toBe(1);
    expect(ours[7].p).toBe(1 / 401);
    expectSame(pairedTest(a[2], b[2], { ...o, higherIsBetter: false }), ours[8], 'single');
    expect(pairedDifference(a[0], b[0], false)).toBe(ours[1].difference);
  });

  it('compareSets: the better set and its test as the per-metric tests pick them', () => {
    const n = 80;
    const a = metrics(n, 31),
      b = metrics(n, 32);
    const names = ['AP', 'Top-1 Error', 'LCS height@10', 'nDCG@10 (LCS_HEIGHT)', 'Hier. Distance@5'];
    const A = { label: 'A', perQuery: Object.fromEntries(names.map((m, i) => [m, a[i]])) };
    const B = { label: 'B', perQuery: Object.fromEntries(names.map((m, i) => [m, b[i]])) };
    const ours = compareSets(A, B, names, o);
    let bBetter = 0;
    names.forEach((m, i) => {
      const higherIsBetter = !/Error|Severity|Distance|LCS height/.test(m);
      const t = onePairedTest(a[i], b[i], { ...o, higherIsBetter });
      const aBetter = higherIsBetter ? t.difference >= 0 : t.difference <= 0;
      const ref = aBetter ? t : onePairedTest(b[i], a[i], { ...o, higherIsBetter });
      if (!aBetter) bBetter++;
      expect(ours[i].better).toBe(aBetter ? 'A' : 'B');
      expectSame({ difference: ours[i].difference, lo: ours[i].lo, hi: ours[i].hi, p: ours[i].p }, ref, m);
    });
    expect(bBetter).toBeGreaterThan(0); // both branches taken
    expect(bBetter).toBeLessThan(names.length);
    expect(() => compareSets(A, { label: 'B', perQuery: {} }, ['AP'], o)).toThrow(/metric AP is missing in B/);
  });

  it('intervals and tests in one batch are the same as apart; results need run()', () => {
    const v = metrics(50, 41);
    const batch = new BootstrapBatch(o);
    const i1 = batch.interval(v[0]);
    const t1 = batch.paired(v[0], v[2], false);
    const i2 = batch.interval(v[2], v[1]);
    expect(() => batch.intervalOf(i1)).toThrow(/run\(\)/);
    batch.run();
    expectSame(batch.intervalOf(i1), oneInterval(v[0], o), 'interval 1');
    expectSame(batch.intervalOf(i2), oneInterval(v[2], o, v[1]), 'interval 2');
    expectSame(batch.pairedOf(t1), onePairedTest(v[0], v[2], { ...o, higherIsBetter: false }), 'test');
  });

  it('bad input: the per-call messages, in the same order', () => {
    expect(() => pairedTest([1, 2], [1], { resamples: 0 })).toThrow(/2 queries in one set, 1 in the other/);
    expect(() => pairedTest([], [], { resamples: 5 })).toThrow(/no values to resample/);
    expect(() => bootstrapInterval([1, 2], { resamples: 5 }, [1])).toThrow(/2 values but 1 weights/);
    expect(() => bootstrapIntervals([{ num: [1] }], { resamples: 1.5 })).toThrow(/positive integer, got 1.5/);
  });
});

describe('resample draws', () => {
  it('drawIndices and drawSigns continue seededRandom stream across calls', () => {
    const n = 33;
    const rnd = seededRandom(0x5bd1e995 ^ 9);
    const idx = new Int32Array(n),
      sign = new Float64Array(n);
    let state = initialState(0x5bd1e995 ^ 9);
    for (let r = 0; r < 3; r++) {
      state = drawIndices(state, idx, n);
      expect(Array.from(idx)).toEqual(Array.from({ length: n }, () => Math.floor(rnd() * n)));
      state = drawSigns(state, sign, n);
      expect(Array.from(sign)).toEqual(Array.from({ length: n }, () => (rnd() < 0.5 ? -1 : 1)));
    }
    expect(new Set(idx).size).toBeGreaterThan(5);
    // row offsets: the same draws times the scale
    const rows = new Int32Array(n);
    drawIndices(initialState(4), rows, n, 8);
    drawIndices(initialState(4), idx, n);
    expect(Array.from(rows)).toEqual(Array.from(idx, (i) => i * 8));
  });
});

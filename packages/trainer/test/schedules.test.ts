import { describe, it, expect } from 'vitest';
import { makeSchedule, sgdrLr, clrLr, parseSgdSchedule, decayFor, decayedLr } from '../src/schedules.js';

// Expected values worked out by hand from the reference's formulas (sgdr_callback.py, clr_callback.py, utils.py).
describe('SGDR', () => {
  const s = makeSchedule('SGDR', {}, 600);
  it('defaults: 372 epochs = 12+24+48+96+192', () => expect(s.defaultEpochs).toBe(372));
  it('first epoch of every cycle at max_lr, restarts after 12, 36, 84, 180', () => {
    for (const e of [0, 12, 36, 84, 180]) expect(s.epochLr(e, 0)).toBe(0.1);
  });
  it('anneals with cos(pi (i+1)/len)', () => {
    // epoch 1, cycle len 12: 1e-6 + 0.5*(0.1-1e-6)*(1+cos(pi*2/12)); cos(pi/6) = sqrt(3)/2
    expect(s.epochLr(1, 0)).toBeCloseTo(1e-6 + 0.5 * (0.1 - 1e-6) * (1 + Math.sqrt(3) / 2), 12);
    // epoch 5: i=5, cos(pi/2) = 0 -> midpoint
    expect(s.epochLr(5, 0)).toBeCloseTo(1e-6 + 0.5 * (0.1 - 1e-6), 12);
    // last epoch of a cycle reaches min_lr exactly (cos(pi) = -1)
    expect(s.epochLr(11, 0)).toBeCloseTo(1e-6, 15);
    expect(s.epochLr(35, 0)).toBeCloseTo(1e-6, 15);
    // second cycle (len 24), i = 11: cos(pi*12/24) = 0
    expect(s.epochLr(12 + 11, 0)).toBeCloseTo(1e-6 + 0.5 * (0.1 - 1e-6), 12);
  });
  it('custom parameters', () => {
    expect(sgdrLr(3, 4, 3, 0.2, 0)).toBeCloseTo(0, 12); // i=3, len 4: cos(pi) -> min 0
    expect(sgdrLr(4, 4, 3, 0.2, 0)).toBe(0.2); // restart
    expect(sgdrLr(5, 4, 3, 0.2, 0)).toBeCloseTo(0.1 * (1 + Math.cos((Math.PI * 2) / 12)), 12);
  });
});

describe('CLR (triangular, per batch)', () => {
  it('starts at min, peaks after step batches, back at min after 2 steps', () => {
    const step = 12 * 10;
    expect(clrLr(0, step)).toBeCloseTo(1e-5, 15);
    expect(clrLr(step, step)).toBeCloseTo(0.1, 15);
    expect(clrLr(step / 2, step)).toBeCloseTo(1e-5 + (0.1 - 1e-5) * 0.5, 15);
    expect(clrLr(2 * step, step)).toBeCloseTo(1e-5, 15);
    expect(clrLr(3 * step, step)).toBeCloseTo(0.1, 15);
  });
  it('schedule uses clr_step_len epochs of steps_per_epoch batches; 240 epochs by default', () => {
    const s = makeSchedule('CLR', { clrStepLen: 2 }, 10);
    expect(s.defaultEpochs).toBe(40);
    expect(s.batchLr!(20)).toBeCloseTo(0.1, 15);
    expect(s.batchLr!(30)).toBeCloseTo(1e-5 + (0.1 - 1e-5) * 0.5, 15);
    expect(makeSchedule('CLR', {}, 10).defaultEpochs).toBe(240);
  });
});

describe('ResNet-Schedule', () => {
  const s = makeSchedule('ResNet-Schedule', {}, 1);
  it('0.01, 0.1 from 1, 0.01 from 80, 0.001 from 120; 164 epochs', () => {
    expect([0, 1, 79, 80, 119, 120, 163].map((e) => s.epochLr(e, 0))).toEqual([
      0.01, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001,
    ]);
    expect(s.defaultEpochs).toBe(164);
  });
});

describe('SGD', () => {
  it('explicit schedule "1:0.1,31:0.01,41:0.001,50"', () => {
    expect(parseSgdSchedule('1:0.1,31:0.01,41:0.001,50')).toEqual([
      [0, 0.1],
      [30, 0.01],
      [40, 0.001],
      [49, null],
    ]);
    const s = makeSchedule('SGD', { sgdSchedule: '1:0.1,31:0.01,41:0.001,50' }, 1);
    expect(s.defaultEpochs).toBe(50);
    // the lr carries over between epochs, as Keras's LearningRateScheduler sees it
    const lrs: number[] = [];
    let lr = 0.5;
    for (let e = 0; e < 50; e++) lrs.push((lr = s.epochLr(e, lr)));
    expect([0, 29, 30, 39, 40, 49].map((e) => lrs[e])).toEqual([0.1, 0.1, 0.01, 0.01, 0.001, 0.001]);
  });
  it('a schedule starting later keeps the current lr before its first point', () => {
    const s = makeSchedule('SGD', { sgdSchedule: '5:0.01,10' }, 1);
    expect(s.epochLr(0, 0.1)).toBe(0.1);
    expect(s.epochLr(4, 0.1)).toBe(0.01);
  });
  it('rejects malformed schedules with the flag name', () => {
    expect(() => parseSgdSchedule('1:abc')).toThrow(/--sgd_schedule/);
  });
  it('reduce on plateau: factor 0.1 after `patience` epochs without 1e-4 improvement, floor min_lr', () => {
    const s = makeSchedule('SGD', { sgdPatience: 2, sgdMinLr: 0.005 }, 1);
    expect(s.defaultEpochs).toBe(200);
    let lr = 0.1;
    lr = s.afterEpoch!(1.0, lr); // best
    lr = s.afterEpoch!(0.99995, lr); // < 1e-4 better: wait 1
    expect(lr).toBe(0.1);
    lr = s.afterEpoch!(0.99995, lr); // wait 2 -> reduce
    expect(lr).toBeCloseTo(0.01, 15);
    lr = s.afterEpoch!(2, lr);
    lr = s.afterEpoch!(2, lr);
    expect(lr).toBe(0.005); // max(0.001, min_lr)
    lr = s.afterEpoch!(2, lr);
    lr = s.afterEpoch!(2, lr);
    expect(lr).toBe(0.005);
  });
});

describe('Keras decay', () => {
  it('reaches max_decay * lr at the last iteration', () => {
    const d = decayFor(0.1, 100, 10); // (1/0.1 - 1) / 1000 = 0.009
    expect(d).toBeCloseTo(0.009, 15);
    expect(decayedLr(0.1, d, 1000)).toBeCloseTo(0.01, 15);
    expect(decayFor(0, 100, 10)).toBe(0);
  });
});

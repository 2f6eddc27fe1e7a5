/**
 * Learning-rate schedules with the reference's semantics (utils.get_lr_schedule, sgdr_callback.SGDR,
 * clr_callback.CyclicLR, Keras ReduceLROnPlateau / LearningRateScheduler).
 */
import { TrainerError } from './errors.js';

export type LrScheduleName = 'SGD' | 'SGDR' | 'CLR' | 'ResNet-Schedule';
export const LR_SCHEDULES: readonly LrScheduleName[] = ['SGD', 'SGDR', 'CLR', 'ResNet-Schedule'];

export interface ScheduleOptions {
  sgdLr?: number; // 0.1
  sgdSchedule?: string; // "1:0.1,31:0.01,41:0.001,50"
  sgdPatience?: number; // 10
  sgdMinLr?: number; // 1e-4
  sgdrBaseLen?: number; // 12
  sgdrMul?: number; // 2
  sgdrMaxLr?: number; // 0.1
  sgdrMinLr?: number; // 1e-6 (fixed in the reference)
  clrStepLen?: number; // 12 (epochs per half cycle)
  clrMinLr?: number; // 1e-5
  clrMaxLr?: number; // 0.1
}

/** A schedule drives the optimiser's base lr (before Keras's `decay`). */
export interface LrSchedule {
  readonly name: LrScheduleName;
  /** The reference's suggested number of epochs when --epochs is not given. */
  readonly defaultEpochs: number;
  /** lr to use for `epoch` (0-based), given the lr in effect so far. */
  epochLr(epoch: number, currentLr: number): number;
  /** lr for a global batch index (CLR only: it changes per batch). */
  batchLr?(globalStep: number): number;
  /** Reduce-on-plateau: called with the epoch's validation loss; returns the lr for the next epoch. */
  afterEpoch?(valLoss: number, currentLr: number): number;
  /** State for snapshots (plateau counters). */
  state(): Record<string, number>;
  restore(state: Record<string, number>): void;
}

/** SGDR as the reference: the first epoch of every cycle at max_lr, then cos(pi (i+1) / len) annealing. */
export function sgdrLr(epoch: number, baseLen = 12, mul = 2, maxLr = 0.1, minLr = 1e-6): number {
  let start = 0;
  let len = baseLen;
  while (epoch >= start + len) {
    start += len;
    len *= mul;
  }
  const i = epoch - start;
  if (i === 0) return maxLr;
  return minLr + 0.5 * (maxLr - minLr) * (1 + Math.cos((Math.PI * (i + 1)) / len));
}

/** Triangular CLR at a global batch index (step = batches per half cycle). */
export function clrLr(iteration: number, step: number, minLr = 1e-5, maxLr = 0.1): number {
  const cycle = Math.floor(1 + iteration / (2 * step));
  const x = Math.abs(iteration / step - 2 * cycle + 1);
  return minLr + (maxLr - minLr) * Math.max(0, 1 - x);
}

export function resnetScheduleLr(epoch: number): number {
  if (epoch >= 120) return 0.001;
  if (epoch >= 80) return 0.01;
  if (epoch >= 1) return 0.1;
  return 0.01;
}

/** Parses `--sgd_schedule` ("1:0.1,31:0.01,41:0.001,50"): 1-based epochs, a trailing bare number = total. */
export function parseSgdSchedule(spec: string): Array<[number, number | null]> {
  const points: Array<[number, number | null]> = [];
  for (const part of spec.split(',')) {
    const [e, lr, extra] = part.trim().split(':');
    const epoch = Number(e);
    const value = lr === undefined ? null : Number(lr);
    if (extra !== undefined || !Number.isInteger(epoch) || epoch < 1 || (value !== null && !(value > 0))) {
      throw new TrainerError(
        `--sgd_schedule: bad entry '${part}' in '${spec}' (expected epoch:lr pairs like "1:0.1,31:0.01,50")`,
      );
    }
    points.push([epoch - 1, value]);
  }
  points.sort((a, b) => a[0] - b[0] || (a[1] ?? -1) - (b[1] ?? -1));
  return points;
}

function sgdScheduleLr(points: Array<[number, number | null]>, epoch: number, cur: number): number {
  if (points[0][0] > epoch) return cur;
  for (let i = 1; i < points.length; i++) {
    if (points[i][0] > epoch) return points[i - 1][1] ?? cur;
  }
  return points[points.length - 1][1] ?? cur;
}

export function makeSchedule(name: string, o: ScheduleOptions, stepsPerEpoch: number): LrSchedule {
  const lower = name.toLowerCase();
  if (lower === 'sgdr') {
    const base = o.sgdrBaseLen ?? 12;
    const mul = o.sgdrMul ?? 2;
    const max = o.sgdrMaxLr ?? 0.1;
    const min = o.sgdrMinLr ?? 1e-6;
    let total = 0;
    for (let c = 0; c < 5; c++) total += base * mul ** c;
    return {
      name: 'SGDR',
      defaultEpochs: total,
      epochLr: (epoch) => sgdrLr(epoch, base, mul, max, min),
      state: () => ({}),
      restore: () => {},
    };
  }
  if (lower === 'clr') {
    const stepLen = o.clrStepLen ?? 12;
    const min = o.clrMinLr ?? 1e-5;
    const max = o.clrMaxLr ?? 0.1;
    const step = stepLen * stepsPerEpoch;
    return {
      name: 'CLR',
      defaultEpochs: stepLen * 20,
      epochLr: (epoch) => clrLr(epoch * stepsPerEpoch, step, min, max),
      batchLr: (it) => clrLr(it, step, min, max),
      state: () => ({}),
      restore: () => {},
    };
  }
  if (lower === 'resnet-schedule') {
    return {
      name: 'ResNet-Schedule',
      defaultEpochs: 164,
      epochLr: resnetScheduleLr,
      state: () => ({}),
      restore: () => {},
    };
  }
  if (lower === 'sgd') {
    if (o.sgdSchedule) {
      const points = parseSgdSchedule(o.sgdSchedule);
      return {
        name: 'SGD',
        defaultEpochs: points[points.length - 1][0] + 1,
        epochLr: (epoch, cur) => sgdScheduleLr(points, epoch, cur),
        state: () => ({}),
        restore: () => {},
      };
    }
    // Keras ReduceLROnPlateau('val_loss', patience, epsilon=1e-4, min_lr, factor=0.1).
    const patience = o.sgdPatience ?? 10;
    const minLr = o.sgdMinLr ?? 1e-4;
    let best = Number.POSITIVE_INFINITY;
    let wait = 0;
    return {
      name: 'SGD',
      defaultEpochs: 200,
      epochLr: (_epoch, cur) => cur,
      afterEpoch(valLoss, cur) {
        if (valLoss < best - 1e-4) {
          best = valLoss;
          wait = 0;
          return cur;
        }
        wait += 1;
        if (wait >= patience && cur > minLr + 1e-12) {
          wait = 0;
          return Math.max(cur * 0.1, minLr);
        }
        return cur;
      },
      state: () => ({ best, wait }),
      restore: (s) => {
        best = s.best ?? best;
        wait = s.wait ?? wait;
      },
    };
  }
  throw new TrainerError(`--lr_schedule: unknown schedule '${name}' (choose ${LR_SCHEDULES.join('|')})`);
}

/** Keras SGD `decay` that brings the lr down to max_decay times its value at the end of training. */
export function decayFor(maxDecay: number, stepsPerEpoch: number, epochs: number): number {
  if (!(maxDecay > 0)) return 0;
  return (1 / maxDecay - 1) / (stepsPerEpoch * epochs);
}

/** Keras 2.2 SGD's effective lr at an iteration. */
export function decayedLr(lr: number, decay: number, iterations: number): number {
  return decay > 0 ? lr / (1 + decay * iterations) : lr;
}

// src/choices.ts keeps copies of lists owned by heavy packages (so builders never load them); here they are
// compared with the owners' values.
import { describe, expect, it } from 'vitest';
import * as hierarchy from '@semembed/hierarchy';
import * as trainer from '@semembed/trainer';
import * as converter from '@semembed/converter';
import { BACKEND_NAMES, DEFAULT_OPSET, EMBEDDING_METHODS, LOSSES, LR_SCHEDULES } from '../src/choices.js';

describe('flag choices equal their owners', () => {
  it('embedding methods (@semembed/hierarchy)', () =>
    expect([...EMBEDDING_METHODS].sort()).toEqual([...hierarchy.EMBEDDING_METHODS].sort()));
  it('losses and schedules (@semembed/trainer)', () => {
    expect([...LOSSES].sort()).toEqual([...trainer.LOSSES].sort());
    expect([...LR_SCHEDULES].sort()).toEqual([...trainer.LR_SCHEDULES].sort());
  });
  it('every backend the trainer offers can be chosen (the handler rejects the others by name)', () => {
    for (const b of trainer.BACKEND_NAMES) expect(BACKEND_NAMES as readonly string[], b).toContain(b);
  });
  it('default opset (@semembed/converter)', () => expect(DEFAULT_OPSET).toBe(converter.DEFAULT_OPSET));
});

/** The op handlers: one list, one rule per op family file; adding an op is a rule in its family's list. */
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { matmulRules } from './matmul.js';
import { quantRules } from './quant.js';
import { reduceRules } from './reduce.js';
import { constantRule, shapeRules } from './shape.js';
import type { OpRule } from './types.js';

const RULES: OpRule[] = [
  ...elementwiseRules,
  ...convRules,
  ...matmulRules,
  ...shapeRules,
  constantRule,
  ...reduceRules,
  ...quantRules,
];

const BY_OP = new Map<string, OpRule>();
for (const rule of RULES) {
  for (const op of rule.ops) {
    if (BY_OP.has(op)) throw new Error(`op ${op} has two shape rules`);
    BY_OP.set(op, rule);
  }
}

/** The rule for a default-domain op, or undefined. */
export function opRule(opType: string): OpRule | undefined {
  return BY_OP.get(opType);
}

/** The op types with shape and cost rules. */
export function supportedOps(): string[] {
  return [...BY_OP.keys()].sort();
}

export type { OpContext, OpRule, ValueType } from './types.js';

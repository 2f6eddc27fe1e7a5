import { parseExpr } from './expr.js';
import { lambdaKindProblem, LAMBDA_KINDS_HELP } from './kinds.js';

export { LAMBDA_KINDS_HELP };

/** Why a `--lambda NAME=KIND` value cannot work (unknown kind, expression that does not parse), or undefined. */
export function checkLambdaKind(kind: string): string | undefined {
  return lambdaKindProblem(kind, parseExpr);
}

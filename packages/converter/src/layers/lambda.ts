import type { Value } from '../graph.js';
import { ExprEmitter, type EV } from '../lambda/emit.js';
import { ExprError, parseExpr, type Expr } from '../lambda/expr.js';
import { kindExpression, LAMBDA_KINDS_HELP } from '../lambda/kinds.js';
import type { LayerCtx, LayerFamily } from './context.js';

/** The Lambda's `arguments` (keyword arguments Keras passes to the function), where they are plain numbers. */
function argumentsEnv(cx: LayerCtx, env: Map<string, EV>): void {
  const args = cx.config.arguments;
  if (!args || typeof args !== 'object') return;
  for (const [k, v] of Object.entries(args as Record<string, unknown>)) {
    if (typeof v === 'number') env.set(k, { k: 'num', n: v });
    else if (typeof v === 'boolean') env.set(k, { k: 'const', v });
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) env.set(k, { k: 'list', items: v.map((n) => ({ k: 'num', n })) });
  }
}

function lambda(cx: LayerCtx): Value {
  const name = cx.layer.name;
  const xs = cx.xs;
  const kind = cx.b.opts.lambdas[name] ?? (name === 'l2norm' && xs.length === 1 ? 'l2norm' : undefined);
  if (!kind) {
    cx.err(
      `Lambda layers hold Python code the converter cannot read; say what it computes with --lambda ${name}=KIND ` +
        `(${LAMBDA_KINDS_HELP}; l2norm = the reference's L2 normalisation over the last axis)`,
    );
  }
  const what = `--lambda ${name}=${kind}`;
  const found = kindExpression(kind, xs.length);
  if ('error' in found) cx.fail(`${what}: ${found.error} (${LAMBDA_KINDS_HELP})`);
  let tree: Expr;
  try {
    tree = parseExpr(found.expr);
  } catch (e) {
    if (e instanceof ExprError) cx.fail(`${what}: ${e.message}`);
    throw e;
  }
  const env = new Map<string, EV>();
  argumentsEnv(cx, env);
  xs.forEach((v, i) => env.set(`x${i}`, { k: 'tensor', v }));
  env.set('x', xs.length === 1 ? { k: 'tensor', v: xs[0] } : { k: 'list', items: xs.map((v) => ({ k: 'tensor', v })) });
  const em = new ExprEmitter(cx, env, what);
  return em.tensor(em.emit(tree, cx.base), tree);
}

export const lambdaLayers: LayerFamily = {
  Lambda: (cx) => [lambda(cx)],
};

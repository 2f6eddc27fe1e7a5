import type { Value } from '../graph.js';
import { ConverterError } from '../errors.js';
import { ExprEmitter, type EV } from '../lambda/emit.js';
import { ExprError, formatExpr, parseExpr, type Expr } from '../lambda/expr.js';
import { readLambdaConfig } from '../lambda/index.js';
import { kindExpression, LAMBDA_KINDS_HELP } from '../lambda/kinds.js';
import { type LayerCtx, type LayerFamily, oneOutput } from './context.js';

/** The Lambda's `arguments` (keyword arguments Keras passes to the function), where they are plain numbers. */
function argumentsEnv(cx: LayerCtx, env: Map<string, EV>): void {
  const args = cx.config.arguments;
  if (!args || typeof args !== 'object') return;
  for (const [k, v] of Object.entries(args as Record<string, unknown>)) {
    if (typeof v === 'number') env.set(k, { k: 'num', n: v });
    else if (typeof v === 'boolean') env.set(k, { k: 'const', v });
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number'))
      env.set(k, { k: 'list', items: v.map((n) => ({ k: 'num', n })) });
  }
}

function emitTree(cx: LayerCtx, tree: Expr, what: string): Value {
  const xs = cx.xs;
  const env = new Map<string, EV>();
  argumentsEnv(cx, env);
  xs.forEach((v, i) => env.set(`x${i}`, { k: 'tensor', v }));
  env.set('x', xs.length === 1 ? { k: 'tensor', v: xs[0] } : { k: 'list', items: xs.map((v) => ({ k: 'tensor', v })) });
  const em = new ExprEmitter(cx, env, what);
  return em.tensor(em.emit(tree, cx.base), tree);
}

function parsed(cx: LayerCtx, src: string, what: string): Expr {
  try {
    return parseExpr(src);
  } catch (e) {
    if (e instanceof ExprError) cx.fail(`${what}: ${e.message}`);
    throw e;
  }
}

function lambda(cx: LayerCtx): Value {
  const name = cx.layer.name;
  const kind = cx.b.opts.lambdas[name];
  if (kind) {
    const what = `--lambda ${name}=${kind}`;
    const found = kindExpression(kind, cx.xs.length);
    if ('error' in found) cx.fail(`${what}: ${found.error} (${LAMBDA_KINDS_HELP})`);
    return emitTree(cx, parsed(cx, found.expr, what), what);
  }
  // No mapping given: read the function's bytecode (never run it) and translate what it computes.
  const code = readLambdaConfig(cx.config);
  const tree = code.expr ?? (code.source !== undefined ? parsed(cx, code.source, 'the saved function') : undefined);
  const listing = code.disassembly ? `\nits code (Python ${code.version ?? '?'}):\n${code.disassembly}` : '';
  if (tree) {
    try {
      return emitTree(cx, tree, `its code computes ${formatExpr(tree)}`);
    } catch (e) {
      if (!(e instanceof ConverterError) || name === 'l2norm') throw e;
      throw new ConverterError(
        `${e.message}; say what it computes with --lambda ${name}=KIND (${LAMBDA_KINDS_HELP})${listing}`,
      );
    }
  }
  // The reference's l2norm keeps working by name whatever its code looks like.
  if (name === 'l2norm' && cx.xs.length === 1)
    return emitTree(cx, parsed(cx, 'l2_normalize(x, axis=-1)', 'l2norm'), 'l2norm');
  cx.err(
    `the Lambda's code cannot be read as a known form (${code.problem}); ` +
      `say what it computes with --lambda ${name}=KIND ` +
      `(${LAMBDA_KINDS_HELP}; l2norm = the reference's L2 normalisation over the last axis)${listing}`,
  );
}

export const lambdaLayers: LayerFamily = {
  Lambda: oneOutput(lambda),
};

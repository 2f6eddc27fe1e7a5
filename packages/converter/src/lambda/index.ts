import { readLambdaCode, type LambdaSource, type ReadLambda } from './bytecode.js';
import { parseExpr } from './expr.js';
import { lambdaKindProblem, LAMBDA_KINDS_HELP } from './kinds.js';
import type { KerasConfig } from '../keras.js';

export { LAMBDA_KINDS_HELP };

/** Why a `--lambda NAME=KIND` value cannot work (unknown kind, expression that does not parse), or undefined. */
export function checkLambdaKind(kind: string): string | undefined {
  return lambdaKindProblem(kind, parseExpr);
}

/** Module-level functions Keras saved by name (function_type 'function'), by what they are called. */
const NAMED: Record<string, string> = {
  l2norm: 'l2_normalize(x, axis=-1)',
  l2_normalize: 'l2_normalize(x, axis=-1)',
  identity: 'x',
};

/** The bytes of Keras's func_dump string: base64 (Keras >= 2.1, Keras 3) or raw_unicode_escape (Keras 2.0). */
function codeBytes(s: string): Uint8Array {
  if (/^[A-Za-z0-9+/=\s]+$/.test(s)) return new Uint8Array(Buffer.from(s, 'base64'));
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 256) out.push(c);
    else for (const b of Buffer.from(`\\u${c.toString(16).padStart(4, '0')}`, 'latin1')) out.push(b);
  }
  return Uint8Array.from(out);
}

export interface LambdaCode extends ReadLambda {
  /** An expression-language source when Keras saved a named function we know. */
  source?: string;
}

/** What the Lambda config says the function is: its code read into an expression, or why that failed. */
export function readLambdaConfig(config: KerasConfig): LambdaCode {
  let fn: unknown = config.function;
  let type = String(config.function_type ?? 'lambda');
  // Keras 3: {class_name: '__lambda__', config: {code, defaults, closure}} or a named function.
  if (fn && typeof fn === 'object' && !Array.isArray(fn)) {
    const f = fn as KerasConfig;
    if (f.class_name === '__lambda__' && f.config) fn = [f.config.code, f.config.defaults, f.config.closure];
    else {
      type = 'function';
      fn = typeof f.config === 'string' ? f.config : f.config?.name;
    }
  }
  if (type === 'function') {
    const name = String(fn);
    if (NAMED[name]) return { source: NAMED[name] };
    return {
      problem:
        `it calls the function '${name}' of module '${config.module ?? '?'}' by name, ` +
        'whose code the file does not hold',
    };
  }
  const parts = Array.isArray(fn) ? fn : [fn];
  if (typeof parts[0] !== 'string') return { problem: 'its code is missing from the config' };
  const src: LambdaSource = {
    code: codeBytes(parts[0]),
    defaults: Array.isArray(parts[1]) ? parts[1] : null,
    closure: Array.isArray(parts[2]) ? parts[2] : null,
  };
  return readLambdaCode(src);
}

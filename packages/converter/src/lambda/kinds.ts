/** Named `--lambda NAME=KIND` kinds, each an expression of the expression language (expr.ts). */
const ONE_INPUT: Record<string, string> = {
  identity: 'x',
  l2norm: 'l2_normalize(x, axis=-1)',
  square: 'square(x)',
  sqrt: 'sqrt(x)',
  abs: 'abs(x)',
  relu: 'relu(x)',
  relu6: 'relu6(x)',
  sigmoid: 'sigmoid(x)',
  tanh: 'tanh(x)',
  softmax: 'softmax(x)',
  fake_quant: 'fake_quant(x, -6, 6)',
};
const SEVERAL_INPUTS: Record<string, string> = {
  abs_diff: 'abs(x0 - x1)',
  sub: 'x0 - x1',
  // The Keras siamese example: K.sqrt(K.maximum(K.sum(K.square(x - y), axis=1, keepdims=True), K.epsilon())).
  euclidean_distance: 'sqrt(maximum(sum(square(x0 - x1), axis=-1, keepdims=True), epsilon()))',
  squared_distance: 'sum(square(x0 - x1), axis=-1, keepdims=True)',
  l1_distance: 'sum(abs(x0 - x1), axis=-1, keepdims=True)',
  cosine_similarity: 'sum(l2_normalize(x0, axis=-1) * l2_normalize(x1, axis=-1), axis=-1, keepdims=True)',
  maximum: 'maximum(x0, x1)',
  minimum: 'minimum(x0, x1)',
};
/** Kinds over any number of inputs: folded left to right. */
const N_ARY: Record<string, (n: number) => string> = {
  add: (n) => Array.from({ length: n }, (_, i) => `x${i}`).join(' + '),
  multiply: (n) => Array.from({ length: n }, (_, i) => `x${i}`).join(' * '),
  average: (n) => `(${Array.from({ length: n }, (_, i) => `x${i}`).join(' + ')}) / ${n}`,
  concat: () => 'concatenate(x, axis=-1)',
};

export const LAMBDA_KINDS_HELP =
  `one input: ${Object.keys(ONE_INPUT).join(', ')}, scale:<k>; ` +
  `several: ${[...Object.keys(SEVERAL_INPUTS), ...Object.keys(N_ARY)].join(', ')}; ` +
  `or expr:"<expression over x / x0, x1, ...>"`;

/**
 * The expression for a kind, or a message saying why there is none. `inputs` is the number of tensors the
 * Lambda takes (a kind for two inputs on a one-input layer is refused, not silently misread).
 */
export function kindExpression(kind: string, inputs: number): { expr: string } | { error: string } {
  if (kind.startsWith('expr:')) {
    const src = kind
      .slice(5)
      .trim()
      .replace(/^(["'])(.*)\1$/s, '$2');
    return src ? { expr: src } : { error: 'expr: needs an expression' };
  }
  const [k, arg] = kind.split(':');
  if (k === 'scale') {
    if (arg === undefined || !Number.isFinite(Number(arg))) return { error: 'scale:<k> needs a number k' };
    return { expr: `x * ${Number(arg)}` };
  }
  if (ONE_INPUT[k] !== undefined) {
    if (inputs !== 1) return { error: `kind '${k}' takes one input, the layer has ${inputs}` };
    return { expr: ONE_INPUT[k] };
  }
  if (SEVERAL_INPUTS[k] !== undefined) {
    if (inputs !== 2) return { error: `kind '${k}' takes two inputs, the layer has ${inputs}` };
    return { expr: SEVERAL_INPUTS[k] };
  }
  if (N_ARY[k] !== undefined) {
    if (inputs < 2) return { error: `kind '${k}' takes several inputs, the layer has ${inputs}` };
    return { expr: N_ARY[k](inputs) };
  }
  return { error: 'unknown kind' };
}

/** Checks a `--lambda` value on its own (kind known, expression parses), for flag parsing before any work. */
export function lambdaKindProblem(kind: string, parse: (src: string) => unknown): string | undefined {
  const found = kindExpression(kind, kind.startsWith('expr:') || kind.startsWith('scale:') ? 1 : -1);
  if ('error' in found && !/takes (one|two|several) input/.test(found.error))
    return `${found.error} (${LAMBDA_KINDS_HELP})`;
  if ('expr' in found) {
    try {
      parse(found.expr);
    } catch (e) {
      return (e as Error).message;
    }
  }
  return undefined;
}

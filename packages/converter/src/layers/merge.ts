import { DataType } from '../onnx-model.js';
import type { Value } from '../graph.js';
import { type LayerCtx, type LayerFamily, oneOutput, sameHandler } from './context.js';
import { normAxis } from './util.js';

const MERGE_OPS: Record<string, string> = {
  Add: 'Add',
  Subtract: 'Sub',
  Multiply: 'Mul',
  Maximum: 'Max',
  Minimum: 'Min',
  Average: 'Mean',
};

/** Element-wise merge of several inputs in the first one's layout (Keras broadcasts nothing here). */
export function mergeValues(cx: LayerCtx, xs: Value[], op: string, base: string): Value {
  if (xs.length < 2) cx.err('needs at least two inputs');
  const perm = xs[0].perm;
  const names = xs.map((v) => {
    if (v.shape.length !== xs[0].shape.length) cx.err('inputs have different ranks');
    return cx.b.toPerm(v, perm).name;
  });
  let name: string;
  if (op === 'Max' || op === 'Min' || op === 'Mean') name = cx.b.node(op, names, base)[0];
  else {
    name = names[0];
    for (let i = 1; i < names.length; i++)
      name = cx.b.node(op, [name, names[i]], i === names.length - 1 ? base : `${base}_${i}`)[0];
  }
  const shape = xs[0].shape.map((d, i) => d ?? xs.find((v) => v.shape[i] !== null)?.shape[i] ?? null);
  return { name, shape, perm, elemType: DataType.FLOAT };
}

function merge(cx: LayerCtx): Value {
  const cls = cx.layer.className;
  if (cx.xs.length < 2) cx.err('needs at least two inputs');
  if (cls === 'Subtract' && cx.xs.length !== 2) cx.err('Subtract takes exactly two inputs');
  return mergeValues(cx, cx.xs, MERGE_OPS[cls], cx.base);
}

/** Concatenation along a Keras axis, in the first input's layout. */
export function concatValues(cx: LayerCtx, xs: Value[], kerasAxis: number, base: string): Value {
  const r = xs[0].shape.length;
  const axis = normAxis(kerasAxis, r);
  const perm = xs[0].perm;
  const names = xs.map((v) => cx.b.toPerm(v, perm).name);
  const name = cx.b.node('Concat', names, base, { axis: { int: perm.indexOf(axis) } })[0];
  const shape = [...xs[0].shape];
  shape[axis] = xs.some((v) => v.shape[axis] === null) ? null : xs.reduce((s, v) => s + (v.shape[axis] as number), 0);
  return { name, shape, perm, elemType: DataType.FLOAT };
}

export const mergeLayers: LayerFamily = {
  ...sameHandler(['Add', 'Subtract', 'Multiply', 'Maximum', 'Minimum', 'Average'], oneOutput(merge)),
  Concatenate: (cx) => [concatValues(cx, cx.xs, Number(cx.config.axis ?? -1), cx.base)],
};

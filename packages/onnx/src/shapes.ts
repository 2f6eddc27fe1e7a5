/** Shape inference for the ops the converter and quantiser emit (see ops/), walking the graph in order. */
import { defaultOpset, valueInfoType, type Dim } from './build.js';
import { OnnxError } from './errors.js';
import { topologicalNodes } from './graph.js';
import { opRule, type OpContext, type ValueType } from './ops/index.js';
import { tensorData } from './tensor.js';
import { DataType, type onnx } from './types.js';

/** Dims to use for graph inputs instead of the declared ones (e.g. a batch size for a named batch dimension). */
export type InputShapes = Record<string, readonly Dim[]>;

const INT_TYPES = new Set<number>([
  DataType.INT64,
  DataType.INT32,
  DataType.INT8,
  DataType.UINT8,
  DataType.INT16,
  DataType.UINT16,
  DataType.UINT32,
  DataType.UINT64,
  DataType.FLOAT,
  DataType.DOUBLE,
]);

function values(t: onnx.TensorProto): number[] | undefined {
  if (!INT_TYPES.has(t.dataType ?? 0)) return undefined;
  return Array.from(tensorData(t) as ArrayLike<number | bigint>, (v) =>
    typeof v === 'bigint' ? (v > 2n ** 62n ? Infinity : v < -(2n ** 62n) ? -Infinity : Number(v)) : v,
  );
}

/** Inferred dims, with what the file declares (value_info, outputs) where inference could not tell. */
function merge(inferred: ValueType | undefined, declared: ValueType | undefined): ValueType | undefined {
  if (!inferred || !declared || declared.dims.length !== inferred.dims.length) return inferred ?? declared;
  return { elemType: inferred.elemType, dims: inferred.dims.map((d, i) => d ?? declared.dims[i]) };
}

/**
 * The element type and dims of every value whose type follows from the graph inputs, initializers and the ops in
 * ops/ (values of other ops, and what depends on them, are missing). Named input dims pass through where an op
 * keeps them; a dim that cannot be told is null. Declared value_info is used where inference has nothing.
 */
export function inferShapes(model: onnx.ModelProto, inputShapes: InputShapes = {}): Map<string, ValueType> {
  const graph = model.graph;
  if (!graph) throw new OnnxError('inferShapes: the model has no graph');
  const opset = defaultOpset(model) ?? 1;
  const types = new Map<string, ValueType>();
  const constants = new Map<string, onnx.TensorProto>();
  for (const t of graph.initializer) {
    types.set(t.name ?? '', { elemType: t.dataType ?? 0, dims: [...t.dims] });
    constants.set(t.name ?? '', t);
  }
  const known = new Set(graph.input.map((v) => v.name));
  for (const name of Object.keys(inputShapes)) {
    if (!known.has(name)) throw new OnnxError(`inferShapes: the graph has no input '${name}'`);
  }
  for (const v of graph.input) {
    const t = valueInfoType(v);
    const name = v.name ?? '';
    const dims = inputShapes[name] ?? t?.dims;
    if (t && dims) types.set(name, { elemType: t.elemType, dims: [...dims] });
  }
  const declared = new Map<string, ValueType>();
  for (const v of [...graph.valueInfo, ...graph.output]) {
    const t = valueInfoType(v);
    if (t?.dims) declared.set(v.name ?? '', { elemType: t.elemType, dims: t.dims });
  }
  for (const node of topologicalNodes(graph)) {
    const rule = node.domain ? undefined : opRule(node.opType ?? '');
    let outs: (ValueType | undefined)[] = [];
    if (rule && (node.opType === 'Constant' || types.has(node.input[0]))) {
      const c: OpContext = {
        node,
        opset,
        inputs: node.input.map((x) => (x ? types.get(x) : undefined)),
        constant: (i) => {
          const t = constants.get(node.input[i]);
          return t && values(t);
        },
      };
      outs = rule.infer(c);
      if (node.opType === 'Constant') {
        const t = node.attribute.find((a) => a.name === 'value')?.t;
        if (t) constants.set(node.output[0], t);
      }
    }
    node.output.forEach((o, i) => {
      const t = merge(outs[i], declared.get(o));
      if (o && t) types.set(o, t);
    });
  }
  return types;
}

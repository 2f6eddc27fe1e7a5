/**
 * The graph as the converter builds it (nodes with the converter's attribute shorthands, initializers as raw
 * little-endian bytes, value infos), and its translation into an @semembed/onnx ModelProto, which writes the file.
 */
import {
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  type AttributeValue,
  type onnx,
} from '@semembed/onnx';

export { DataType } from '@semembed/onnx';

/** number = FLOAT, { int } = INT, string = STRING, number[] = INTS, string[] = STRINGS, { floats } = FLOATS. */
export type AttrValue = number | string | number[] | string[] | { int: number } | { floats: number[] } | TensorProto;

export interface TensorProto {
  name: string;
  dataType: number;
  dims: number[];
  raw: Uint8Array;
}

export interface NodeProto {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  elemType: number;
  /** number = fixed size, string = named dynamic dimension. */
  shape: (number | string)[];
}

export interface ConvertedGraph {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  graphName: string;
  docString?: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  metadata?: Record<string, string>;
}

/** The converter's shorthand as an @semembed/onnx attribute value (numbers there are tagged). */
function attributeValue(v: AttrValue): AttributeValue {
  if (typeof v === 'number') return { float: v };
  if (typeof v === 'string' || Array.isArray(v) || 'int' in v || 'floats' in v) return v;
  return tensor(v);
}

const tensor = (t: TensorProto): onnx.TensorProto => makeTensor(t.name, t.dataType, t.dims, { raw: t.raw });

const node = (n: NodeProto): onnx.NodeProto =>
  makeNode(n.opType, n.inputs, n.outputs, {
    name: n.name,
    attributes: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, attributeValue(v)])),
  });

const valueInfo = (v: ValueInfo): onnx.ValueInfoProto => makeValueInfo(v.name, v.elemType, v.shape);

/** The converted graph as an ONNX model (what `writeModel` of @semembed/onnx serialises). */
export function toOnnxModel(m: ConvertedGraph): onnx.ModelProto {
  const graph = makeGraph({
    nodes: m.nodes.map(node),
    name: m.graphName,
    initializers: m.initializers.map(tensor),
    inputs: m.inputs.map(valueInfo),
    outputs: m.outputs.map(valueInfo),
  });
  return makeModel({
    graph,
    opset: m.opset,
    irVersion: m.irVersion,
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    docString: m.docString || undefined,
    metadata: m.metadata,
  });
}

/**
 * The graph as the converter builds it (nodes with the converter's attribute shorthands, initializers as raw
 * little-endian bytes, value infos), and its translation into an @semembed/onnx ModelProto, which writes the file.
 */
import { AttributeType, makeValueInfo, type onnx } from '@semembed/onnx';

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

const utf8 = new TextEncoder();

function tensor(t: TensorProto): onnx.TensorProto {
  return { dims: t.dims, dataType: t.dataType, name: t.name, rawData: t.raw, floatData: [], int32Data: [],
    stringData: [], int64Data: [], externalData: [], doubleData: [], uint64Data: [], metadataProps: [] };
}

function attribute(name: string, v: AttrValue): onnx.AttributeProto {
  const a: onnx.AttributeProto = { name, floats: [], ints: [], strings: [], tensors: [], graphs: [], sparseTensors: [],
    typeProtos: [] };
  if (typeof v === 'number') return { ...a, f: v, type: AttributeType.FLOAT };
  if (typeof v === 'string') return { ...a, s: utf8.encode(v), type: AttributeType.STRING };
  if (Array.isArray(v)) {
    // An empty list is INTS: every list attribute the converter writes is one of integers.
    if (v.length > 0 && v.every((x) => typeof x === 'string')) {
      return { ...a, strings: (v as string[]).map((s) => utf8.encode(s)), type: AttributeType.STRINGS };
    }
    return { ...a, ints: v as number[], type: AttributeType.INTS };
  }
  if ('int' in v) return { ...a, i: v.int, type: AttributeType.INT };
  if ('floats' in v) return { ...a, floats: v.floats, type: AttributeType.FLOATS };
  return { ...a, t: tensor(v), type: AttributeType.TENSOR };
}

function node(n: NodeProto): onnx.NodeProto {
  return { input: n.inputs, output: n.outputs, name: n.name, opType: n.opType, deviceConfigurations: [],
    attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)), metadataProps: [] };
}

const valueInfo = (v: ValueInfo): onnx.ValueInfoProto => makeValueInfo(v.name, v.elemType, v.shape);

/** The converted graph as an ONNX model (what `writeModel` of @semembed/onnx serialises). */
export function toOnnxModel(m: ConvertedGraph): onnx.ModelProto {
  const graph: onnx.GraphProto = { node: m.nodes.map(node), name: m.graphName, initializer: m.initializers.map(tensor),
    sparseInitializer: [], input: m.inputs.map(valueInfo), output: m.outputs.map(valueInfo), valueInfo: [],
    quantizationAnnotation: [], metadataProps: [] };
  const model: onnx.ModelProto = { irVersion: m.irVersion, opsetImport: [{ domain: '', version: m.opset }],
    producerName: m.producerName, producerVersion: m.producerVersion, graph, trainingInfo: [], functions: [],
    configuration: [], metadataProps: Object.entries(m.metadata ?? {}).map(([key, value]) => ({ key, value })) };
  if (m.docString) model.docString = m.docString;
  return model;
}

/** Makers for the messages (the counterparts of onnx.helper.make_*) and attribute access. */
import { OnnxError } from './errors.js';
import { AttributeType, type Int64, type onnx } from './types.js';
import { irVersionForOpset } from './versions.js';

/**
 * An attribute value. Numbers are tagged ({ int } or { float }) because JavaScript cannot tell 1 from 1.0; bare
 * number arrays are INTS, strings STRING(S), a TensorProto TENSOR.
 */
export type AttributeValue =
  | { int: Int64 }
  | { float: number }
  | { floats: readonly number[] }
  | { ints: readonly Int64[] }
  | { graph: onnx.GraphProto }
  | readonly Int64[]
  | string
  | readonly string[]
  | onnx.TensorProto;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function emptyAttribute(name: string): onnx.AttributeProto {
  return { name, floats: [], ints: [], strings: [], tensors: [], graphs: [], sparseTensors: [], typeProtos: [] };
}

function isTensor(v: object): v is onnx.TensorProto {
  return 'dims' in v && 'dataType' in v;
}

/** An AttributeProto (fields in the order onnx.helper.make_attribute sets them). */
export function makeAttribute(name: string, value: AttributeValue): onnx.AttributeProto {
  const a = emptyAttribute(name);
  if (typeof value === 'string') return { ...a, s: utf8.encode(value), type: AttributeType.STRING };
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((x) => typeof x === 'string')) {
      return { ...a, strings: (value as string[]).map((s) => utf8.encode(s)), type: AttributeType.STRINGS };
    }
    for (const x of value) {
      if (typeof x !== 'bigint' && !Number.isInteger(x)) {
        throw new OnnxError(`attribute '${name}': ${String(x)} in an INTS list is not an integer (use { floats })`);
      }
    }
    return { ...a, ints: [...(value as Int64[])], type: AttributeType.INTS };
  }
  const v = value as Exclude<AttributeValue, string | readonly unknown[]>;
  if ('int' in v) return { ...a, i: v.int, type: AttributeType.INT };
  if ('float' in v) return { ...a, f: v.float, type: AttributeType.FLOAT };
  if ('floats' in v) return { ...a, floats: [...v.floats], type: AttributeType.FLOATS };
  if ('ints' in v) return { ...a, ints: [...v.ints], type: AttributeType.INTS };
  if ('graph' in v) return { ...a, g: v.graph, type: AttributeType.GRAPH };
  if (isTensor(v)) return { ...a, t: v, type: AttributeType.TENSOR };
  throw new OnnxError(`attribute '${name}': unsupported value`);
}

/** The value of an attribute, by its declared type: number, string, number[], string[], TensorProto or GraphProto. */
export type AttributeResult = Int64 | string | Int64[] | number[] | string[] | onnx.TensorProto | onnx.GraphProto;

/** A node's attribute value, or undefined when the node does not have it. */
export function getAttribute(node: onnx.NodeProto, name: string): AttributeResult | undefined {
  const a = node.attribute.find((x) => x.name === name);
  if (!a) return undefined;
  switch (a.type) {
    case AttributeType.FLOAT:
      return a.f ?? 0;
    case AttributeType.INT:
      return a.i ?? 0;
    case AttributeType.STRING:
      return fromUtf8.decode(a.s ?? new Uint8Array());
    case AttributeType.FLOATS:
      return a.floats;
    case AttributeType.INTS:
      return a.ints;
    case AttributeType.STRINGS:
      return a.strings.map((s) => fromUtf8.decode(s));
    case AttributeType.TENSOR:
      if (a.t) return a.t;
      break;
    case AttributeType.GRAPH:
      if (a.g) return a.g;
      break;
  }
  throw new OnnxError(`node '${node.name ?? ''}' (${node.opType ?? '?'}): attribute '${name}' has an unsupported type`);
}

/** An integer attribute as a number (ONNX's int64 attributes of the ops we handle are small). */
export function intAttribute(node: onnx.NodeProto, name: string, fallback: number): number {
  const v = getAttribute(node, name);
  return v === undefined ? fallback : Number(v);
}

/** A float attribute. */
export function floatAttribute(node: onnx.NodeProto, name: string, fallback: number): number {
  const v = getAttribute(node, name);
  return v === undefined ? fallback : Number(v);
}

/** A string attribute. */
export function stringAttribute(node: onnx.NodeProto, name: string, fallback: string): string {
  const v = getAttribute(node, name);
  return v === undefined ? fallback : String(v);
}

/** An INTS attribute as numbers. */
export function intsAttribute(node: onnx.NodeProto, name: string): number[] | undefined {
  const v = getAttribute(node, name);
  return v === undefined ? undefined : (v as Int64[]).map(Number);
}

export interface NodeOptions {
  name?: string;
  domain?: string;
  docString?: string;
  /** Attributes in the order they are written. */
  attributes?: Record<string, AttributeValue>;
}

/** A NodeProto (onnx.helper.make_node). */
export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  options: NodeOptions = {},
): onnx.NodeProto {
  const node: onnx.NodeProto = {
    input: [...inputs],
    output: [...outputs],
    attribute: [],
    metadataProps: [],
    deviceConfigurations: [],
  };
  if (options.name !== undefined) node.name = options.name;
  node.opType = opType;
  if (options.domain !== undefined) node.domain = options.domain;
  if (options.docString !== undefined) node.docString = options.docString;
  for (const [k, v] of Object.entries(options.attributes ?? {})) node.attribute.push(makeAttribute(k, v));
  return node;
}

/** A dimension: a size, a name for a dynamic size, or null for unknown. */
export type Dim = number | string | null;

/** A tensor ValueInfoProto (onnx.helper.make_tensor_value_info); `dims` undefined: rank unknown. */
export function makeValueInfo(name: string, elemType: number, dims?: readonly Dim[]): onnx.ValueInfoProto {
  const tensorType: onnx.TypeProto.Tensor = { elemType };
  if (dims) {
    tensorType.shape = {
      dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
    };
  }
  return { name, type: { tensorType }, metadataProps: [] };
}

/** The element type and dims of a tensor ValueInfoProto, or undefined when it is not a tensor. */
export function valueInfoType(v: onnx.ValueInfoProto): { elemType: number; dims: Dim[] | undefined } | undefined {
  const t = v.type?.tensorType;
  if (!t) return undefined;
  const dims = t.shape?.dim.map((d): Dim => (d.dimValue !== undefined ? d.dimValue : (d.dimParam ?? null)));
  return { elemType: t.elemType ?? 0, dims };
}

export interface GraphParts {
  nodes: onnx.NodeProto[];
  name: string;
  inputs: onnx.ValueInfoProto[];
  outputs: onnx.ValueInfoProto[];
  initializers?: onnx.TensorProto[];
  docString?: string;
  valueInfo?: onnx.ValueInfoProto[];
}

/** A GraphProto (onnx.helper.make_graph). */
export function makeGraph(p: GraphParts): onnx.GraphProto {
  const g: onnx.GraphProto = {
    node: p.nodes,
    name: p.name,
    initializer: p.initializers ?? [],
    sparseInitializer: [],
    input: p.inputs,
    output: p.outputs,
    valueInfo: p.valueInfo ?? [],
    quantizationAnnotation: [],
    metadataProps: [],
  };
  if (p.docString !== undefined) g.docString = p.docString;
  return g;
}

export interface ModelParts {
  graph: onnx.GraphProto;
  /** The default-domain opset; the IR version follows from it (irVersionForOpset) unless given. */
  opset: number;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/** A ModelProto importing the default ONNX domain at `opset` (onnx.helper.make_model). */
export function makeModel(p: ModelParts): onnx.ModelProto {
  const m: onnx.ModelProto = {
    irVersion: p.irVersion ?? irVersionForOpset(p.opset),
    opsetImport: [{ domain: '', version: p.opset }],
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
    graph: p.graph,
  };
  if (p.producerName !== undefined) m.producerName = p.producerName;
  if (p.producerVersion !== undefined) m.producerVersion = p.producerVersion;
  if (p.docString !== undefined) m.docString = p.docString;
  for (const [key, value] of Object.entries(p.metadata ?? {})) m.metadataProps.push({ key, value });
  return m;
}

/** The model's default-domain ("" or "ai.onnx") opset version. */
export function defaultOpset(model: onnx.ModelProto): number | undefined {
  return model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
}

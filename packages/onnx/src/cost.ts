/** Arithmetic and memory traffic per node, for the benchmark's roofline. */
import { defaultOpset } from './build.js';
import type { Dim } from './build.js';
import { OnnxError } from './errors.js';
import { count } from './ops/dims.js';
import { opRule, type OpContext, type ValueType } from './ops/index.js';
import { inferShapes, type InputShapes } from './shapes.js';
import { elementSize, elementCount } from './tensor.js';
import type { onnx } from './types.js';
import { topologicalNodes } from './graph.js';

export interface NodeCost {
  name: string;
  opType: string;
  /** Floating-point operations (a multiply-add is 2; element-wise ops 1 per output element). */
  flops: number;
  /** Bytes of all inputs (weights included) and outputs, each read or written once. */
  bytesRead: number;
  bytesWritten: number;
}

export interface ModelCost {
  nodes: NodeCost[];
  flops: number;
  /** bytesRead + bytesWritten over all nodes. */
  bytes: number;
  /** Elements in the initializers. */
  parameters: number;
  /** Ops with no rule: counted with 0 FLOPs and the bytes of the values whose type is known. */
  unknownOps: string[];
}

function bytesOf(t: ValueType | undefined): number {
  return t ? count(t.dims) * (elementSize(t.elemType) ?? 1) : 0;
}

/**
 * FLOPs and bytes per node with the graph's inputs at `inputShapes`; input dims that are named or unknown count as
 * 1 (batch size 1 for a named batch dimension). Throws, naming it, for an input without any shape.
 */
export function modelCost(model: onnx.ModelProto, inputShapes: InputShapes = {}): ModelCost {
  const graph = model.graph;
  if (!graph) throw new OnnxError('modelCost: the model has no graph');
  const init = new Set(graph.initializer.map((t) => t.name));
  const fixed: Record<string, Dim[]> = {};
  const types0 = inferShapes(model, inputShapes);
  for (const v of graph.input) {
    const name = v.name ?? '';
    if (init.has(name)) continue;
    const dims = types0.get(name)?.dims;
    if (!dims) throw new OnnxError(`modelCost: input '${name}' has no shape; give it in inputShapes`);
    fixed[name] = dims.map((d) => (typeof d === 'number' ? d : 1));
  }
  const types = inferShapes(model, fixed);
  const opset = defaultOpset(model) ?? 1;
  const nodes: NodeCost[] = [];
  const unknown = new Set<string>();
  for (const node of topologicalNodes(graph)) {
    const rule = node.domain ? undefined : opRule(node.opType ?? '');
    const inputs = node.input.map((x) => (x ? types.get(x) : undefined));
    const outputs = node.output.map((o) => types.get(o));
    let flops = 0;
    if (!rule) unknown.add(node.domain ? `${node.domain}.${node.opType}` : (node.opType ?? ''));
    else if (outputs[0]) {
      const c: OpContext = { node, opset, inputs, constant: () => undefined };
      flops = rule.flops ? rule.flops(c, outputs as ValueType[]) : count(outputs[0].dims);
    }
    nodes.push({
      name: node.name ?? '',
      opType: node.opType ?? '',
      flops,
      bytesRead: inputs.reduce((s, t) => s + bytesOf(t), 0),
      bytesWritten: outputs.reduce((s, t) => s + bytesOf(t), 0),
    });
  }
  return {
    nodes,
    flops: nodes.reduce((s, n) => s + n.flops, 0),
    bytes: nodes.reduce((s, n) => s + n.bytesRead + n.bytesWritten, 0),
    parameters: graph.initializer.reduce((s, t) => s + elementCount(t.dims), 0),
    unknownOps: [...unknown].sort(),
  };
}

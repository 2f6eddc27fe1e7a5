/** Intermediate values exposed as graph outputs (for `convert --verify` and debugging). */
import { makeValueInfo } from './build.js';
import { OnnxError } from './errors.js';
import { inferShapes, type InputShapes } from './shapes.js';
import type { onnx } from './types.js';

/**
 * A copy of the model that also outputs the named intermediate values (types and shapes from inferShapes), e.g. to
 * compare a converted model layer by layer. Names already among the outputs are kept once; declared outputs
 * without a type get the inferred one. Throws naming a value
 * that is not in the graph or whose type cannot be inferred.
 */
export function addOutputs(
  model: onnx.ModelProto,
  valueNames: readonly string[],
  inputShapes?: InputShapes,
): onnx.ModelProto {
  const graph = model.graph;
  if (!graph) throw new OnnxError('addOutputs: the model has no graph');
  const types = inferShapes(model, inputShapes);
  const known = new Set([...graph.node.flatMap((n) => n.output), ...graph.input.map((v) => v.name ?? '')]);
  // Outputs declared without a type (allowed in a file, refused by onnx.checker) get the inferred one too.
  const outputs = graph.output.map((o) => {
    const t = o.type ? undefined : types.get(o.name ?? '');
    return t ? { ...o, ...makeValueInfo(o.name ?? '', t.elemType, t.dims), metadataProps: o.metadataProps } : o;
  });
  const have = new Set(outputs.map((o) => o.name));
  for (const name of valueNames) {
    if (have.has(name)) continue;
    if (!known.has(name)) throw new OnnxError(`addOutputs: no value '${name}' in graph '${graph.name ?? ''}'`);
    const t = types.get(name);
    if (!t) throw new OnnxError(`addOutputs: the type of '${name}' cannot be inferred (its op is not handled)`);
    outputs.push(makeValueInfo(name, t.elemType, t.dims));
    have.add(name);
  }
  return { ...model, graph: { ...graph, output: outputs } };
}

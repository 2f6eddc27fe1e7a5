// --nodes_to_exclude (onnxruntime's quantize_static / convert_float_to_float16 name): nodes a user keeps in float32,
// named as the model names them, or `OpType#index` (the node's place in the graph) for an unnamed node, as the
// quantiser's own reports name it. Checked against the model before any work, so a typo fails at once.
import { readFileSync } from 'node:fs';
import { readModel, type onnx } from '@semembed/onnx';
import { QuantizeError } from './errors.js';

const label = (n: onnx.NodeProto, i: number): string => n.name || `${n.opType}#${i}`;

/**
 * The nodes named in `names` (empty set for none); an unknown name is a QuantizeError listing some that exist.
 * An unnamed node matched by `OpType#index` gets that name, so that passes after a rewrite (which shifts the
 * indices) still find it.
 */
export function excludedNodes(
  g: onnx.GraphProto,
  names: readonly string[] | undefined,
  source: string,
): Set<onnx.NodeProto> {
  const out = new Set<onnx.NodeProto>();
  if (!names || names.length === 0) return out;
  const byName = new Map<string, onnx.NodeProto>();
  g.node.forEach((n, i) => byName.set(label(n, i), n));
  const unknown = names.filter((s) => !byName.has(s));
  if (unknown.length > 0) {
    const some = [...byName.keys()].slice(0, 12).join(', ');
    const more = byName.size > 12 ? `, ... (${byName.size} in all)` : '';
    throw new QuantizeError(
      `--nodes_to_exclude: no node named ${unknown.map((s) => `'${s}'`).join(', ')} in ${source} (its nodes: ${some}${more})`,
    );
  }
  for (const s of names) {
    const n = byName.get(s)!;
    if (!n.name) n.name = s;
    out.add(n);
  }
  return out;
}

/** excludedNodes against a model file: lets a command check the flag before it loads calibration data. */
export function checkNodesToExclude(path: string, names: readonly string[]): void {
  if (names.length > 0) excludedNodes(readModel(readFileSync(path), path).graph!, names, path);
}

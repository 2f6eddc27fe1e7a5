/** The graph's nodes in dependency order. */
import { OnnxError } from './errors.js';
import type { onnx } from './types.js';

/**
 * The graph's nodes in an order where every node comes after the producers of its inputs (Kahn's algorithm; the
 * file's order is kept where it already is one). Throws, naming the node, on a cycle or an input nothing produces.
 */
export function topologicalNodes(graph: onnx.GraphProto): onnx.NodeProto[] {
  const available = new Set<string>(['']);
  for (const v of graph.input) available.add(v.name ?? '');
  for (const t of graph.initializer) available.add(t.name ?? '');
  const producer = new Map<string, number>();
  graph.node.forEach((n, i) => n.output.forEach((o) => producer.set(o, i)));
  const waiting = graph.node.map((n) => new Set(n.input.filter((x) => !available.has(x))));
  const consumers = new Map<string, number[]>();
  waiting.forEach((ins, i) => {
    for (const x of ins) {
      if (!producer.has(x)) {
        const n = graph.node[i];
        throw new OnnxError(
          `node '${n.name ?? ''}' (${n.opType}) reads '${x}', which no node, input or initializer ` + 'gives',
        );
      }
      consumers.set(x, [...(consumers.get(x) ?? []), i]);
    }
  });
  // A min-heap would be O(n log n); models have at most a few thousand nodes, so a sorted ready list is plenty.
  const ready = waiting.flatMap((w, i) => (w.size === 0 ? [i] : []));
  const order: onnx.NodeProto[] = [];
  const done = new Set<number>();
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    done.add(i);
    order.push(graph.node[i]);
    for (const o of graph.node[i].output) {
      for (const j of consumers.get(o) ?? []) {
        const w = waiting[j];
        if (w.delete(o) && w.size === 0) ready.push(j);
      }
    }
  }
  if (order.length < graph.node.length) {
    const stuck = graph.node.find((_, i) => !done.has(i))!;
    throw new OnnxError(`node '${stuck.name ?? ''}' (${stuck.opType}) is on a cycle`);
  }
  return order;
}

// float16: initializers and activations in half precision, the graph's inputs and outputs kept float32 (Cast
// at the edges), and a block list of ops that lose too much in fp16 run in float32 with Casts around them:
// the L2 normalisation (sum of squares, sqrt, divide) and softmax (exp of large logits).
import { DataType, makeNode, makeTensor, type onnx } from '@semembed/onnx';
import { float32ToHalf } from '@semembed/model';
import { excludedNodes } from './exclude.js';
import { GraphIndex, pruneUnused } from './graph.js';

export const FP16_BLOCK = new Set([
  'Softmax',
  'LogSoftmax',
  'LpNormalization',
  'ReduceSumSquare',
  'ReduceL2',
  'ReduceSum',
  'ReduceMean',
  'Sqrt',
  'Div',
  'Max',
  'Min',
  'Pow',
  'Reciprocal',
  'Exp',
  'Log',
  'Cast',
  'Constant',
  'ConstantOfShape',
  'Range',
]);
/** Ops whose outputs are not float tensors (no Cast ever goes on them). */
const NOT_FLOAT = new Set([
  'Shape',
  'Size',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'Equal',
  'Greater',
  'Less',
  'Not',
  'And',
  'Or',
]);

export interface Fp16Options {
  /** More op types to keep in float32. */
  block?: string[];
  /** Node names kept float32 (onnxruntime's node_block_list / nodes_to_exclude). */
  nodesToExclude?: string[];
}

export function convertFp16(model: onnx.ModelProto, o: Fp16Options = {}): { halfNodes: number; keptFloat: string[] } {
  const block = new Set([...FP16_BLOCK, ...(o.block ?? [])]);
  const g = model.graph!;
  const ix = new GraphIndex(g);
  const excluded = excludedNodes(g, o.nodesToExclude, 'the model');
  const half = (n: onnx.NodeProto) => !block.has(n.opType ?? '') && !NOT_FLOAT.has(n.opType ?? '') && !excluded.has(n);
  /** Precision of each float activation: 32 or 16; absent = not a float tensor. */
  const prec = new Map<string, 16 | 32>();
  for (const i of g.input) prec.set(i.name ?? '', 32);
  // Graph outputs made by fp16 nodes: the node writes <name>_fp16, a final Cast restores <name> as float32.
  const tail: onnx.NodeProto[] = [];
  for (const out of g.output) {
    const p = ix.producer.get(out.name ?? '');
    if (!p || !half(p)) continue;
    const h = ix.fresh(`${out.name}_fp16`);
    p.output = p.output.map((x) => (x === out.name ? h : x));
    for (const c of ix.consumers.get(out.name ?? '') ?? []) c.input = c.input.map((x) => (x === out.name ? h : x));
    const name = ix.fresh(`${out.name}_to_float32`);
    tail.push(makeNode('Cast', [h], [out.name ?? ''], { name, attributes: { to: { int: DataType.FLOAT } } }));
  }
  const casts = new Map<string, string>();
  const halfInits = new Map<string, string>();
  const nodes: onnx.NodeProto[] = [];
  const keptFloat: string[] = [];
  let halfNodes = 0;
  for (const n of g.node) {
    const want: 16 | 32 = half(n) ? 16 : 32;
    if (want === 16) halfNodes++;
    else if (block.has(n.opType ?? '') || excluded.has(n)) keptFloat.push(n.name || (n.opType ?? ''));
    n.input = n.input.map((i) => {
      if (!i) return i;
      const w = ix.floatInitializer(i);
      if (w) {
        if (want === 32) return i;
        let h = halfInits.get(i);
        if (!h) {
          h = ix.fresh(`${i}_fp16`);
          g.initializer.push(makeTensor(h, DataType.FLOAT16, w.t.dims.map(Number), float32ToHalf(w.data)));
          halfInits.set(i, h);
        }
        return h;
      }
      const p = prec.get(i);
      if (p === undefined || p === want) return i;
      const key = `${i}->${want}`;
      let c = casts.get(key);
      if (!c) {
        c = ix.fresh(`${i}_${want === 16 ? 'fp16' : 'fp32'}`);
        const to = { int: want === 16 ? DataType.FLOAT16 : DataType.FLOAT };
        nodes.push(makeNode('Cast', [i], [c], { name: ix.fresh(`${c}_Cast`), attributes: { to } }));
        casts.set(key, c);
      }
      return c;
    });
    nodes.push(n);
    if (NOT_FLOAT.has(n.opType ?? '')) continue;
    const castTo = n.opType === 'Cast' ? Number(n.attribute.find((a) => a.name === 'to')?.i) : undefined;
    for (const out of n.output) {
      if (castTo !== undefined && castTo !== DataType.FLOAT) continue;
      prec.set(out, want);
    }
  }
  g.node = [...nodes, ...tail];
  pruneUnused(g);
  g.valueInfo = [];
  return { halfNodes, keptFloat };
}

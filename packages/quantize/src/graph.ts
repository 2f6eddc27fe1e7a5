// Graph bookkeeping the three quantisers share: who produces / consumes a tensor, the initializers by name,
// fresh names, and exposing intermediate tensors as outputs (calibration).
import { DataType, makeValueInfo, tensorData, type onnx } from '@semembed/onnx';
import { QuantizeError } from './errors.js';

export class GraphIndex {
  readonly producer = new Map<string, onnx.NodeProto>();
  readonly consumers = new Map<string, onnx.NodeProto[]>();
  readonly initializers = new Map<string, onnx.TensorProto>();
  readonly outputs: Set<string>;
  private used = new Set<string>();

  constructor(readonly graph: onnx.GraphProto) {
    for (const t of graph.initializer) this.initializers.set(t.name ?? '', t);
    for (const n of graph.node) {
      for (const o of n.output) this.producer.set(o, n);
      for (const i of n.input) {
        if (!i) continue;
        const list = this.consumers.get(i) ?? [];
        list.push(n);
        this.consumers.set(i, list);
      }
      for (const x of [...n.input, ...n.output, n.name ?? '']) this.used.add(x);
    }
    for (const v of [...graph.input, ...graph.output]) this.used.add(v.name ?? '');
    for (const t of graph.initializer) this.used.add(t.name ?? '');
    this.outputs = new Set(graph.output.map((o) => o.name ?? ''));
  }

  /** A tensor / node name not used in the graph yet, built from `base`. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  isConstant(name: string): boolean {
    return this.initializers.has(name);
  }

  /** A float32 initializer's values, or undefined when `name` is not a float32 initializer. */
  floatInitializer(name: string): { t: onnx.TensorProto; data: Float32Array } | undefined {
    const t = this.initializers.get(name);
    if (!t || t.dataType !== DataType.FLOAT) return undefined;
    return { t, data: tensorData(t) as Float32Array };
  }
}

/** The model's single float32 image input (what calibration feeds). */
export function modelInput(model: onnx.ModelProto): { name: string; dims: (number | string | null)[] } {
  const g = model.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  const inputs = g.input.filter((i) => !inits.has(i.name));
  if (inputs.length !== 1) {
    throw new QuantizeError(`the model has ${inputs.length} inputs; the quantiser handles models with one image input`);
  }
  const tt = inputs[0].type?.tensorType;
  if (tt?.elemType !== DataType.FLOAT) throw new QuantizeError(`input '${inputs[0].name}' is not float32`);
  const dims = (tt.shape?.dim ?? []).map((d) => (d.dimValue !== undefined ? Number(d.dimValue) : (d.dimParam ?? null)));
  return { name: inputs[0].name ?? '', dims };
}

/** Ops whose outputs are never float activations worth calibrating. */
const NON_FLOAT = new Set([
  'Shape',
  'Size',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'QuantizeLinear',
  'DynamicQuantizeLinear',
  'MatMulInteger',
]);

/** A copy of the model whose graph also outputs each of `names` (float32, shape left open). */
export function exposeOutputs(model: onnx.ModelProto, names: string[]): onnx.ModelProto {
  const g = model.graph!;
  const have = new Set(g.output.map((o) => o.name));
  const extra = names.filter((n) => !have.has(n)).map((n) => makeValueInfo(n, DataType.FLOAT));
  return { ...model, graph: { ...g, output: [...g.output, ...extra], valueInfo: [] } };
}

/** Float activations produced by nodes (not initializers), in graph order: what calibration may observe. */
export function activationTensors(model: onnx.ModelProto): string[] {
  const out: string[] = [];
  for (const n of model.graph!.node) {
    const castTo = n.opType === 'Cast' ? Number(n.attribute.find((a) => a.name === 'to')?.i) : DataType.FLOAT;
    if (NON_FLOAT.has(n.opType ?? '') || castTo !== DataType.FLOAT) continue;
    for (const o of n.output) if (o) out.push(o);
  }
  return out;
}

/** Replaces `from` by `to` in the inputs of `nodes`. */
export function rewire(nodes: onnx.NodeProto[], from: string, to: string): void {
  for (const n of nodes) n.input = n.input.map((i) => (i === from ? to : i));
}

/** Keeps the opset ≥ `min` (per-axis QuantizeLinear / DequantizeLinear need 13). */
export function requireOpset(model: onnx.ModelProto, min: number): void {
  const o = model.opsetImport.find((x) => !x.domain || x.domain === 'ai.onnx');
  if (!o) throw new QuantizeError('the model imports no default-domain opset');
  if ((o.version ?? 0) < min) o.version = min;
}

/** Drops initializers no node reads any more (float weights that now live as int8 / fp16), and their inputs. */
export function pruneUnused(g: onnx.GraphProto): void {
  const used = new Set(g.node.flatMap((n) => n.input));
  for (const o of g.output) used.add(o.name ?? '');
  const removed = new Set(g.initializer.filter((t) => !used.has(t.name ?? '')).map((t) => t.name));
  g.initializer = g.initializer.filter((t) => !removed.has(t.name));
  g.input = g.input.filter((i) => !removed.has(i.name));
}

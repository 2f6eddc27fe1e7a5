/**
 * Plans a native training step for a tfjs LayersModel: walks the functional graph from the outputs back to the
 * single input, and turns each layer into an op through the handler registered for its class (layers.ts).
 * Fan-out (the cls head on the embedding) is allowed; layers used twice, multi-input layers and anything without a
 * handler give the reason the TF.js path is used instead.
 */
import type * as tfType from '@tensorflow/tfjs';
import { LAYER_HANDLERS } from './layers.js';
import { weightOf } from './weights.js';
import type { StepOp } from './types.js';
import type { LossName } from '../losses.js';

type Tf = typeof tfType;

interface SymTensor {
  id: number;
  shape: (number | null)[];
  sourceLayer: tfType.layers.Layer & { inboundNodes: { inputTensors: SymTensor[] }[] };
  nodeIndex: number;
  tensorIndex: number;
}

export interface StepPlan {
  ops: StepOp[];
  /** Per-row size of every tensor slot (by id); aliases share their root's buffers. */
  sizes: number[];
  root: number[];
  input: number;
  inputSize: number;
  emb: number;
  embDim: number;
  prob?: number;
  probDim?: number;
  /** Rows x dim of the embedding target check, and the loss the plan was made for. */
  loss: LossName;
}

export const SUPPORTED_LOSSES: readonly LossName[] = ['inv_corr', 'mse', 'unnorm_corr', 'softmax_corr'];

/** The plan of `model`'s training step, or why there is none. */
export function planStep(tf: Tf, model: tfType.LayersModel, loss: LossName): StepPlan | string {
  if (!SUPPORTED_LOSSES.includes(loss)) return `loss ${loss} has no native form`;
  if (model.inputs.length !== 1) return `the model has ${model.inputs.length} inputs`;
  const outs = model.outputs as unknown as SymTensor[];
  if (outs.length < 1 || outs.length > 2) return `the model has ${outs.length} outputs`;
  const slots = new Map<number, number>();
  const sizes: number[] = [];
  const root: number[] = [];
  const ops: StepOp[] = [];
  const seen = new Set<tfType.layers.Layer>();
  let input = -1;
  const slotOf = (t: SymTensor): number | string => {
    const s = slots.get(t.id);
    if (s !== undefined) return s;
    if (t.shape.slice(1).some((d) => d === null)) return `tensor of ${t.sourceLayer.name} has an unknown shape`;
    const id = sizes.length;
    sizes.push(t.shape.slice(1).reduce((a: number, b) => a * (b as number), 1));
    root.push(id);
    slots.set(t.id, id);
    return id;
  };
  // Depth-first from the outputs: a layer's op comes after the ops that make its input (topological order).
  const visit = (t: SymTensor): string | undefined => {
    const layer = t.sourceLayer;
    if (slots.has(t.id)) return undefined;
    const cls = layer.getClassName();
    if (layer.inboundNodes.length !== 1 || t.tensorIndex !== 0 || seen.has(layer))
      return `layer ${layer.name} is shared`;
    seen.add(layer);
    const ins = layer.inboundNodes[0].inputTensors;
    if (cls === 'InputLayer' || ins.length === 0) {
      if (cls !== 'InputLayer') return `layer ${layer.name} (${cls}) has no input`;
      const id = slotOf(t);
      if (typeof id === 'string') return id;
      input = id;
      return undefined;
    }
    if (ins.length !== 1) return `layer ${layer.name} (${cls}) has ${ins.length} inputs`;
    const why = visit(ins[0]);
    if (why) return why;
    const handler = LAYER_HANDLERS[cls];
    if (!handler) return `layer ${layer.name}: ${cls} has no native form`;
    const inId = slotOf(ins[0]);
    const outId = slotOf(t);
    if (typeof inId === 'string') return inId;
    if (typeof outId === 'string') return outId;
    const config = layer.getConfig() as Record<string, unknown>;
    const shapeOf = (s: SymTensor) => s.shape.slice(1) as number[];
    const info = { layer, config, inShape: shapeOf(ins[0]), outShape: shapeOf(t), input: inId, output: outId, tf };
    const op = handler(info);
    if (op === 'alias') {
      if (sizes[inId] !== sizes[outId]) return `layer ${layer.name}: ${cls} changes the size`;
      root[outId] = root[inId];
    } else if (typeof op === 'string') return `layer ${layer.name} (${cls}): ${op}`;
    // the op reads and writes the tensors the plan gave it (the handler's closures use the same ids)
    else ops.push({ ...op, input: inId, output: outId });
    return undefined;
  };
  for (const o of outs) {
    const why = visit(o);
    if (why) return why;
  }
  if (input < 0) return 'no InputLayer found';
  const modelInput = (model.inputs[0] as unknown as SymTensor).id;
  if (slots.get(modelInput) !== input) return 'the outputs do not depend on the model input';
  // Every layer with weights must be in the plan (weights of unplanned layers would get no gradient).
  for (const layer of model.layers) {
    if (!seen.has(layer) && layer.weights.length > 0) return `layer ${layer.name} is not on a path to the outputs`;
    if (!seen.has(layer)) continue;
    for (const w of layer.trainableWeights) {
      if (!weightOf(ops, w.read() as tfType.Variable))
        return `layer ${layer.name}: weight ${w.name} has no native gradient`;
    }
  }
  const emb = slots.get(outs[0].id)!;
  const prob = outs[1] ? slots.get(outs[1].id) : undefined;
  return {
    ops,
    sizes,
    root,
    input,
    inputSize: sizes[input],
    emb,
    embDim: sizes[emb],
    prob,
    probDim: prob === undefined ? undefined : sizes[prob],
    loss,
  };
}

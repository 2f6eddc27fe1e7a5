// Exact folds of the per-channel Mul / Add a BatchNormalization after an activation leaves behind (the reference's
// `simple` and fashion-cnn put BN after the ReLU, so the converter cannot merge it into the convolution) into the
// weights around it. In an int8 graph such an affine sits between a DequantizeLinear and a QuantizeLinear as float
// broadcasts, which onnxruntime-web's wasm kernels run slower than the convolution next to it (NHWC, innermost-axis
// broadcast); folded, the int8 kernels run back to back. Every fold is exact in real arithmetic:
// - backward: s·Relu(Wx + c) = Relu((sW)x + sc) for s > 0 (and s·(Wx + c) for any s), into a Conv / Gemm, when
//   the scales differ by at most MAX_SPREAD (the producer's output shares one activation range);
// - forward: x + b → [MaxPool] → [Transpose / Flatten / Reshape] → Gemm: the constant travels through the pooling
//   (a per-channel constant stays one) and the permutations, then adds b·W to the bias. A scale is not folded
//   forward: it would scale the weight's input rows (×15 in fashion-cnn's last layer) and spread every per-column
//   int8 range (measured: balanced accuracy −0.4 points); such a Mul stays float (on a 2-D tensor it is cheap);
// - an affine that cannot fold moves behind a MaxPool when one follows (same values, a quarter of the elements).
// A Conv reader is never folded into (its zero padding would see b, not 0).
import { DataType, getAttribute, inferShapes, makeTensor, type onnx } from '@semembed/onnx';
import { GraphIndex, modelInput, pruneUnused } from './graph.js';
import { excludedNodes } from './exclude.js';

interface Affine {
  node: onnx.NodeProto;
  op: 'Mul' | 'Add';
  /** The activation input. */
  x: string;
  /** One value per channel (axis 1), or a single value for all. */
  values: Float32Array;
}

/**
 * A scale folded backward makes the producer's output channels as unequal as the scale: beyond this ratio the
 * output's one (per-tensor) int8 range leaves the small channels a few levels (fashion-cnn's dense BN, ratio 100:
 * balanced accuracy −0.4 points); such a Mul stays float.
 */
export const MAX_SPREAD = 8;

/** Gemm's weight axis of the output channels, or undefined when the Gemm is not a plain y = xW (+ b). */
export function gemmWeightAxis(n: onnx.NodeProto): number | undefined {
  const num = (k: string, d: number) => Number(getAttribute(n, k) ?? d);
  if (num('alpha', 1) !== 1 || num('beta', 1) !== 1 || num('transA', 0) !== 0) return undefined;
  return num('transB', 0) === 1 ? 0 : 1;
}

/** A Mul / Add of an activation by a constant that varies at most along the activation's axis 1. */
function affineOf(ix: GraphIndex, n: onnx.NodeProto, shapes: Map<string, number[]>): Affine | undefined {
  if ((n.opType !== 'Mul' && n.opType !== 'Add') || n.input.length !== 2) return undefined;
  const k = ix.floatInitializer(n.input[1]) ? 1 : ix.floatInitializer(n.input[0]) ? 0 : -1;
  if (k < 0 || ix.isConstant(n.input[1 - k]) || ix.outputs.has(n.output[0])) return undefined;
  const rank = shapes.get(n.input[1 - k])?.length;
  if (rank === undefined) return undefined;
  const c = ix.floatInitializer(n.input[k])!;
  const dims = c.t.dims.map(Number);
  if (dims.length > rank) return undefined;
  const full = [...Array<number>(rank - dims.length).fill(1), ...dims];
  if (full.some((d, i) => d !== 1 && i !== 1)) return undefined;
  return { node: n, op: n.opType, x: n.input[1 - k], values: c.data };
}

/** Replaces initializer input `slot` of `n` by a fresh one holding `data` (the original may be shared). */
function setInit(
  g: onnx.GraphProto,
  ix: GraphIndex,
  n: onnx.NodeProto,
  slot: number,
  dims: number[],
  data: Float32Array,
) {
  const name = ix.fresh(`${n.input[slot] || `${n.name}_bias`}_folded`);
  g.initializer.push(makeTensor(name, DataType.FLOAT, dims, data));
  ix.initializers.set(name, g.initializer.at(-1)!);
  while (n.input.length <= slot) n.input.push('');
  n.input[slot] = name;
}

/** Removes the affine node: its readers read its activation input. */
function drop(g: onnx.GraphProto, ix: GraphIndex, a: Affine): void {
  for (const r of ix.consumers.get(a.node.output[0]) ?? []) {
    r.input = r.input.map((i) => (i === a.node.output[0] ? a.x : i));
  }
  g.node.splice(g.node.indexOf(a.node), 1);
}

const single = (ix: GraphIndex, t: string) => (ix.consumers.get(t) ?? []).length === 1 && !ix.outputs.has(t);
const at = (v: Float32Array, c: number) => (v.length === 1 ? v[0] : v[c]);

/** s·[Relu](Conv / Gemm): scales the producer's output channels instead. */
function foldBackward(g: onnx.GraphProto, ix: GraphIndex, a: Affine, excluded: Set<onnx.NodeProto>): boolean {
  if (a.op !== 'Mul' || !single(ix, a.x)) return false;
  if (Math.max(...a.values.map(Math.abs)) > MAX_SPREAD * Math.min(...a.values.map(Math.abs))) return false;
  let y = a.x;
  const relu = ix.producer.get(y);
  if (relu && excluded.has(relu)) return false;
  if (relu?.opType === 'Relu') {
    if (!a.values.every((v) => v > 0) || !single(ix, relu.input[0])) return false;
    y = relu.input[0];
  }
  const p = ix.producer.get(y);
  if (p && excluded.has(p)) return false;
  const axis = p?.opType === 'Conv' ? 0 : p?.opType === 'Gemm' ? gemmWeightAxis(p) : undefined;
  const w = p && axis !== undefined ? ix.floatInitializer(p.input[1]) : undefined;
  if (!p || !w || axis === undefined) return false;
  const dims = w.t.dims.map(Number);
  const out = dims[axis];
  if (a.values.length !== 1 && a.values.length !== out) return false;
  const bias = p.input[2] ? ix.floatInitializer(p.input[2]) : undefined;
  if (p.input[2] && (!bias || bias.data.length !== out)) return false;
  const inner = dims.slice(axis + 1).reduce((x, d) => x * d, 1);
  const wd = Float32Array.from(w.data, (v, i) => v * at(a.values, Math.floor(i / inner) % out));
  setInit(g, ix, p, 1, dims, wd);
  if (bias)
    setInit(
      g,
      ix,
      p,
      2,
      [out],
      Float32Array.from(bias.data, (v, c) => v * at(a.values, c)),
    );
  drop(g, ix, a);
  return true;
}

/**
 * An affine left in front of a MaxPool (one whose reader is a Conv with padding) moves behind it: the same values
 * (max(x + b) = max(x) + b; max(s·x) = s·max(x) for s > 0) on a quarter of the elements.
 */
function sinkBelowPool(g: onnx.GraphProto, ix: GraphIndex, a: Affine, excluded: Set<onnx.NodeProto>): boolean {
  const out = a.node.output[0];
  const pool = single(ix, out) ? (ix.consumers.get(out) ?? [])[0] : undefined;
  if (pool?.opType !== 'MaxPool' || pool.output.length !== 1 || ix.outputs.has(pool.output[0])) return false;
  if (excluded.has(pool)) return false;
  if (a.op === 'Mul' && !a.values.every((v) => v > 0)) return false;
  const pooled = pool.output[0];
  // x -> affine -> out -> pool -> pooled  becomes  x -> pool -> out -> affine -> pooled (readers unchanged).
  pool.input = pool.input.map((i) => (i === out ? a.x : i));
  pool.output = [out];
  a.node.input = a.node.input.map((i) => (i === a.x ? out : i));
  a.node.output = [pooled];
  // Keep graph order topological: the affine now follows the pool.
  g.node.splice(g.node.indexOf(a.node), 1);
  g.node.splice(g.node.indexOf(pool) + 1, 0, a.node);
  return true;
}

/** A dense tensor (batch 1) pushed through the path ops. */
interface Dense {
  dims: number[];
  data: Float32Array;
}

function fill(dims: number[], values: Float32Array): Dense {
  const inner = dims.slice(2).reduce((x, d) => x * d, 1);
  const size = dims.reduce((x, d) => x * d, 1);
  return { dims, data: Float32Array.from({ length: size }, (_, i) => at(values, Math.floor(i / inner) % dims[1])) };
}

function transpose(t: Dense, perm: number[]): Dense {
  const dims = perm.map((p) => t.dims[p]);
  const strides = t.dims.map((_, i) => t.dims.slice(i + 1).reduce((x, d) => x * d, 1));
  const data = new Float32Array(t.data.length);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += idx[k] * strides[perm[k]];
    data[o] = t.data[src];
    for (let k = dims.length - 1; k >= 0 && ++idx[k] === dims[k]; k--) idx[k] = 0;
  }
  return { dims, data };
}

/** x + b → pool / permutations → Gemm: adds b·W to the bias. */
function foldForward(
  g: onnx.GraphProto,
  ix: GraphIndex,
  a: Affine,
  shapes: Map<string, number[]>,
  excluded: Set<onnx.NodeProto>,
): boolean {
  const xDims = shapes.get(a.x);
  if (!xDims || a.op !== 'Add') return false;
  let t = fill(xDims, a.values);
  let perChannel = true;
  let cur = a.node.output[0];
  for (;;) {
    if (!single(ix, cur)) return false;
    const r = (ix.consumers.get(cur) ?? [])[0];
    if (excluded.has(r)) return false;
    const next = shapes.get(r.output[0]);
    if (r.opType === 'MaxPool' && perChannel && next) {
      if (r.output.length > 1) return false;
      t = fill(next, a.values);
    } else if (r.opType === 'Transpose') {
      const perm = (getAttribute(r, 'perm') as number[] | undefined)?.map(Number) ?? t.dims.map((_, i) => i).reverse();
      t = transpose(t, perm);
      perChannel = false;
    } else if ((r.opType === 'Flatten' || r.opType === 'Reshape') && next) {
      t = { dims: next, data: t.data };
      perChannel = false;
    } else if (r.opType === 'Gemm' && r.input[0] === cur) {
      return intoDense(g, ix, a, r, t);
    } else return false;
    cur = r.output[0];
  }
}

function intoDense(g: onnx.GraphProto, ix: GraphIndex, a: Affine, r: onnx.NodeProto, t: Dense): boolean {
  const axis = gemmWeightAxis(r);
  const w = ix.floatInitializer(r.input[1]);
  const dims = w?.t.dims.map(Number);
  if (!w || !dims || dims.length !== 2 || axis === undefined || t.dims.length !== 2) return false;
  const [k, n] = axis === 1 ? dims : [dims[1], dims[0]];
  if (t.data.length !== k) return false;
  // Weight element (row i of K, column j of N).
  const wi = (i: number, j: number) => (axis === 1 ? i * n + j : j * k + i);
  const bias = r.input[2] ? ix.floatInitializer(r.input[2]) : undefined;
  if (r.input[2] && (!bias || bias.data.length !== n)) return false;
  const bd = bias ? Float32Array.from(bias.data) : new Float32Array(n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) bd[j] += t.data[i] * w.data[wi(i, j)];
  setInit(g, ix, r, 2, [n], bd);
  drop(g, ix, a);
  return true;
}

/** Static dims (batch 1) of every value that has them. */
function staticShapes(model: onnx.ModelProto): Map<string, number[]> {
  const inp = modelInput(model);
  const dims = inp.dims.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : null));
  const out = new Map<string, number[]>();
  if (dims.some((d) => d === null)) return out;
  for (const [k, v] of inferShapes(model, { [inp.name]: dims as number[] })) {
    if (v.dims.every((d) => typeof d === 'number')) out.set(k, v.dims as number[]);
  }
  return out;
}

/** Folds (or moves behind a pool) every affine it can, until none is left; returns how many rewrites it made. */
export function foldAffine(model: onnx.ModelProto, nodesToExclude?: string[]): number {
  const g = model.graph!;
  const excluded = excludedNodes(g, nodesToExclude, 'the model');
  // An excluded node stays as it is: no affine folded into it, out of it, through it or moved past it (each fold
  // checks the nodes it would change).
  let folded = 0;
  for (let changed = true; changed;) {
    changed = false;
    const shapes = staticShapes(model);
    const ix = new GraphIndex(g);
    for (const n of g.node) {
      const a = affineOf(ix, n, shapes);
      if (
        a &&
        !excluded.has(a.node) &&
        (foldBackward(g, ix, a, excluded) ||
          foldForward(g, ix, a, shapes, excluded) ||
          sinkBelowPool(g, ix, a, excluded))
      ) {
        folded++;
        changed = true;
        break;
      }
    }
  }
  pruneUnused(g);
  return folded;
}

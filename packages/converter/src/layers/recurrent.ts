import { DataType, type AttrValue } from '../onnx-model.js';
import type { Value } from '../graph.js';
import type { LayerCtx, LayerFamily } from './context.js';
import { fmtShape, ident } from './util.js';

/** Keras gate activations as ONNX RNN activation names (+ HardSigmoid's Keras 2 slope and offset). */
function rnnActivation(cx: LayerCtx, name: string, alphas: number[], betas: number[]): string {
  switch (name) {
    case 'sigmoid':
      return 'Sigmoid';
    case 'tanh':
      return 'Tanh';
    case 'relu':
      return 'Relu';
    case 'hard_sigmoid':
      alphas.push(0.2);
      betas.push(0.5);
      return 'HardSigmoid';
    default:
      cx.err(`activation '${name}' is not supported in a recurrent layer`);
  }
}

/**
 * Keras [in, gates·u] kernels to ONNX [1, gates·u, in], gate blocks reordered: ONNX block g takes Keras block order[g].
 */
function gateMatrix(w: Float32Array, rows: number, units: number, order: number[]): Float32Array {
  const out = new Float32Array(w.length);
  const cols = order.length * units;
  order.forEach((kg, g) => {
    for (let j = 0; j < units; j++)
      for (let r = 0; r < rows; r++) out[(g * units + j) * rows + r] = w[r * cols + kg * units + j];
  });
  return out;
}

function gateVector(v: Float32Array, units: number, order: number[]): Float32Array {
  const out = new Float32Array(order.length * units);
  order.forEach((kg, g) => out.set(v.subarray(kg * units, (kg + 1) * units), g * units));
  return out;
}

/** LSTM (gates i, f, c, o in Keras; i, o, f, c in ONNX) and GRU (z, r, h in both), batch-first Keras tensors. */
function recurrent(cx: LayerCtx): Value[] {
  const x0 = cx.one();
  const c = cx.config;
  const b = cx.b;
  const base = cx.base;
  const lstm = cx.layer.className === 'LSTM';
  if (x0.shape.length !== 3) cx.err(`expects a [batch, time, features] input, got shape ${fmtShape(x0.shape)}`);
  if (c.stateful) cx.err('stateful recurrent layers are not supported');
  if (c.go_backwards) cx.err('go_backwards is not supported');
  const units = Number(c.units);
  const cin = cx.staticDim(x0.shape[2], 'the number of input features');
  const gates = lstm ? 4 : 3;
  const order = lstm ? [0, 3, 1, 2] : [0, 1, 2];
  const W = gateMatrix(cx.weight('kernel', [cin, gates * units]), cin, units, order);
  const R = gateMatrix(cx.weight('recurrent_kernel', [units, gates * units]), units, units, order);
  const B = new Float32Array(2 * gates * units);
  const resetAfter = !lstm && c.reset_after === true;
  if (c.use_bias !== false) {
    if (resetAfter) {
      const bias = cx.weight('bias', [2, gates * units]);
      B.set(gateVector(bias.subarray(0, gates * units), units, order), 0);
      B.set(gateVector(bias.subarray(gates * units), units, order), gates * units);
    } else B.set(gateVector(cx.weight('bias', [gates * units]), units, order), 0);
  }
  const alphas: number[] = [];
  const betas: number[] = [];
  const f = rnnActivation(cx, String(c.recurrent_activation ?? 'hard_sigmoid'), alphas, betas);
  const g = rnnActivation(cx, String(c.activation ?? 'tanh'), alphas, betas);
  const activations = lstm ? [f, g, g] : [f, g];
  if (lstm && activations[2] === 'HardSigmoid') {
    alphas.push(0.2);
    betas.push(0.5);
  }
  const attrs: Record<string, AttrValue> = { hidden_size: { int: units }, activations };
  if (alphas.length) Object.assign(attrs, { activation_alpha: { floats: alphas }, activation_beta: { floats: betas } });
  if (!lstm) attrs.linear_before_reset = { int: resetAfter ? 1 : 0 };
  // ONNX RNNs take [time, batch, features].
  const x = b.toPerm(x0, ident(3));
  const xt = b.node('Transpose', [x.name], `${base}_time_major`, { perm: [1, 0, 2] })[0];
  const ins = [
    xt,
    b.floatConst(`${base}/W`, [1, gates * units, cin], W),
    b.floatConst(`${base}/R`, [1, gates * units, units], R),
    b.floatConst(`${base}/B`, [1, 2 * gates * units], B),
  ];
  const outs = b.node(lstm ? 'LSTM' : 'GRU', ins, `${base}_rnn`, attrs, lstm ? 3 : 2);
  const batch = x.shape[0];
  const state = (name: string, tag: string): Value => ({
    name: b.node('Squeeze', [name, b.int64Const('axes', [0])], tag)[0],
    shape: [batch, units],
    perm: [0, 1],
    elemType: DataType.FLOAT,
  });
  let y: Value;
  if (c.return_sequences) {
    const sq = b.node('Squeeze', [outs[0], b.int64Const('axes', [1])], `${base}_seq`)[0];
    y = {
      name: b.node('Transpose', [sq], base, { perm: [1, 0, 2] })[0],
      shape: [batch, x.shape[1], units],
      perm: [0, 1, 2],
      elemType: DataType.FLOAT,
    };
  } else y = state(outs[1], base);
  if (!c.return_state) return [y];
  return lstm ? [y, state(outs[1], `${base}_h`), state(outs[2], `${base}_c`)] : [y, state(outs[1], `${base}_h`)];
}

export const recurrentLayers: LayerFamily = {
  LSTM: recurrent,
  GRU: recurrent,
};

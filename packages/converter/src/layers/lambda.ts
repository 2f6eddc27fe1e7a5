import type { Value } from '../graph.js';
import { activation } from './activation.js';
import type { LayerCtx, LayerFamily } from './context.js';
import { like } from './util.js';

const KINDS = 'l2norm, identity, square, relu, sigmoid, tanh, softmax or scale:<k>';

function lambda(cx: LayerCtx): Value {
  const x = cx.one();
  const name = cx.layer.name;
  const base = cx.base;
  const b = cx.b;
  const kind = b.opts.lambdas[name] ?? (name === 'l2norm' ? 'l2norm' : undefined);
  if (!kind) {
    cx.err(
      `Lambda layers hold Python code the converter cannot read; say what it computes with --lambda ${name}=l2norm|identity|square|relu|sigmoid|tanh|softmax|scale:<k> (l2norm = the reference's L2 normalisation over the last axis)`,
    );
  }
  const [k, arg] = kind.split(':');
  switch (k) {
    case 'identity':
      return x;
    case 'l2norm': {
      // K.l2_normalize: x / sqrt(max(Σx², 1e-12)) over the last axis.
      const last = x.perm.indexOf(x.shape.length - 1);
      const ss = b.reduce('ReduceSumSquare', x.name, [last], true, `${base}_sumsq`);
      const cl = b.node('Max', [ss, b.scalarConst(1e-12)], `${base}_clip`)[0];
      const nrm = b.node('Sqrt', [cl], `${base}_norm`)[0];
      return { name: b.node('Div', [x.name, nrm], base)[0], shape: x.shape, perm: x.perm, elemType: x.elemType };
    }
    case 'square':
      return like(x, b.node('Mul', [x.name, x.name], base)[0]);
    case 'scale':
      if (arg === undefined || !Number.isFinite(Number(arg))) cx.fail(`--lambda ${name}=scale:<k> needs a number k`);
      return like(x, b.node('Mul', [x.name, b.scalarConst(Number(arg))], base)[0]);
    case 'relu':
    case 'sigmoid':
    case 'tanh':
    case 'softmax':
      return activation(cx, x, k, base);
    default:
      cx.fail(`--lambda ${name}=${kind}: unknown kind (use ${KINDS})`);
  }
}

export const lambdaLayers: LayerFamily = {
  Lambda: (cx) => [lambda(cx)],
};

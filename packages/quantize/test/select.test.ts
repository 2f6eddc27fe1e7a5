import { describe, expect, it } from 'vitest';
import { DataType, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, writeModel } from '@semembed/onnx';
import { parseHierarchy } from '@semembed/hierarchy';
import {
  chooseCandidate,
  evaluateCandidates,
  formatCandidates,
  quantizeModel,
  type LabelledSlice,
} from '../src/index.js';
import { uniform } from './helpers.js';

// A constructed case for --max_drop: a Dense embedding model whose informative input features are tiny
// (|x| ~ 0.01) next to one huge feature the weights ignore (|x| ~ 1000). Per-tensor int8 of that input
// (static and dynamic alike) rounds the informative part away; fp16 keeps it. With a well-scaled input int8 is fine.

const D = 256,
  E = 64,
  C = 3,
  N = 300;

function denseModel(): Uint8Array {
  const w = uniform(D * E, -1, 1, 5);
  for (let j = 0; j < E; j++) w[j] = 0; // row 0 (the outlier feature) does not matter
  // The class head points at each class's embedding direction (the sum of W's rows of its features).
  const wc = new Float32Array(E * C);
  for (let c = 0; c < C; c++)
    for (let f = 1 + c * 8; f <= 8 + c * 8; f++) for (let j = 0; j < E; j++) wc[j * C + c] += 3 * w[f * E + j];
  const g = makeGraph({
    name: 'dense',
    inputs: [makeValueInfo('x', DataType.FLOAT, ['N', D])],
    outputs: [makeValueInfo('emb', DataType.FLOAT, ['N', E]), makeValueInfo('prob', DataType.FLOAT, ['N', C])],
    initializers: [
      makeTensor('W', DataType.FLOAT, [D, E], w),
      makeTensor('B', DataType.FLOAT, [E], new Float32Array(E)),
      makeTensor('Wc', DataType.FLOAT, [E, C], wc),
      makeTensor('eps', DataType.FLOAT, [], [1e-12]),
    ],
    nodes: [
      makeNode('Gemm', ['x', 'W', 'B'], ['y']),
      makeNode('ReduceSumSquare', ['y'], ['ss'], { attributes: { axes: [1], keepdims: { int: 1 } } }),
      makeNode('Max', ['ss', 'eps'], ['ssm']),
      makeNode('Sqrt', ['ssm'], ['norm']),
      makeNode('Div', ['y', 'norm'], ['emb']),
      makeNode('MatMul', ['emb', 'Wc'], ['logits']),
      makeNode('Softmax', ['logits'], ['prob'], { attributes: { axis: { int: 1 } } }),
    ],
  });
  return writeModel(makeModel({ graph: g, opset: 13 }));
}

/** N samples of 3 classes: class c lifts features 1+c*8 .. 8+c*8 by 0.01; feature 0 is noise of scale `outlier`. */
function slice(outlier: number, seed: number): LabelledSlice {
  const data = uniform(N * D, -0.004, 0.004, seed);
  const labels = new Int32Array(N);
  const big = uniform(N, -outlier, outlier, seed + 1);
  for (let s = 0; s < N; s++) {
    const c = s % C;
    labels[s] = c;
    data[s * D] = big[s];
    for (let f = 1 + c * 8; f <= 8 + c * 8; f++) data[s * D + f] += 0.01;
  }
  const hierarchy = parseHierarchy('10 0\n10 1\n11 2\n12 10\n12 11\n');
  return { data, n: N, labels, classes: [0, 1, 2], hierarchy };
}

async function variants(calib: LabelledSlice) {
  const fp32 = denseModel();
  const cal = [{ data: calib.data, n: calib.n }];
  const out = [{ name: 'fp32', bytes: fp32 }];
  for (const mode of ['fp16', 'int8', 'dynamic'] as const)
    out.push({ name: mode, bytes: (await quantizeModel(fp32, { mode, calibration: cal })).bytes });
  return out;
}

/** The candidates evaluated on slice(outlier, seed), calibrated on slice(outlier, seed + 10); `by` keys them by name. */
async function evaluate(outlier: number, seed: number) {
  const res = await evaluateCandidates(await variants(slice(outlier, seed + 10)), slice(outlier, seed), {
    embeddingOutput: 'emb',
    probOutput: 'prob',
    maxDrop: 0.005,
    latencyRuns: 3,
  });
  return { res, by: Object.fromEntries(res.map((r) => [r.name, r])) };
}

describe('--max_drop: the smallest variant whose mAHP@250 and balanced accuracy stay within the bound', () => {
  it('int8 breaks the bound (outlier input feature): fp16 is chosen; the table says why', async () => {
    const { res, by } = await evaluate(1000, 11);
    console.log(formatCandidates(res, chooseCandidate(res), 0.005));
    expect(by.fp32.mahp).toBeGreaterThan(0.9); // the float model separates the classes
    expect(by.fp32.mahp - by.int8.mahp).toBeGreaterThan(0.005);
    expect(by.int8.ok).toBe(false);
    expect(by.dynamic.ok).toBe(false);
    expect(by.fp16.ok).toBe(true);
    expect(by.int8.bytes).toBeLessThan(by.fp16.bytes); // int8 would have been the smallest
    const chosen = chooseCandidate(res);
    expect(chosen.name).toBe('fp16');
    expect(formatCandidates(res, chosen, 0.005)).toMatch(/\| int8 \|.*\| drop > 0.005 \|/);
  });

  it('a well-scaled input: int8 and dynamic stay within the bound; the smallest of them is chosen', async () => {
    const { res, by } = await evaluate(0.004, 31);
    expect(by.int8.ok).toBe(true);
    expect(Math.abs(by.fp32.mahp - by.int8.mahp)).toBeLessThanOrEqual(0.005);
    // The smallest within the bound wins: dynamic (int8 Dense weights without the QDQ scales) here, int8 without it.
    expect(chooseCandidate(res).name).toBe('dynamic');
    expect(chooseCandidate(res.filter((r) => r.name !== 'dynamic')).name).toBe('int8');
    expect(chooseCandidate(res, 'latency').latencySingleMs).toBe(
      Math.min(...res.filter((r) => r.ok).map((r) => r.latencySingleMs)),
    );
  });
});

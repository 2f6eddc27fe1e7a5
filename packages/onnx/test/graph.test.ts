import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  addOutputs,
  DataType,
  inferShapes,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  modelCost,
  OnnxError,
  readModel,
  topologicalNodes,
  writeModel,
} from '../src/index.js';
import { checkModel, python, tmpFile } from './python.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));
const MODELS = [
  'ops-model.onnx',
  'python-model.onnx',
  'converter-12net.onnx',
  'converter-cnn-batch-norm.onnx',
  'converter-tfkeras-9349.onnx',
];

/** onnx.shape_inference.infer_shapes(strict) of a fixture: name -> [elem_type, dims] (unknown dims as '?'). */
function onnxShapes(file: string): Record<string, [number, (number | string)[]]> {
  return JSON.parse(
    python(
      'import onnx,sys,json; m=onnx.shape_inference.infer_shapes(onnx.load(sys.argv[1]), strict_mode=True); ' +
        'g=m.graph; print(json.dumps({v.name: [v.type.tensor_type.elem_type, [d.dim_value if d.HasField("dim_value")' +
        ' else (d.dim_param or "?") for d in v.type.tensor_type.shape.dim]]' +
        ' for v in list(g.value_info)+list(g.output)}))',
      [join(FIXTURES, file)],
    ),
  );
}

describe('inferShapes', () => {
  it.each(MODELS)('gives what onnx.shape_inference gives for %s', (file) => {
    const theirs = onnxShapes(file);
    const ours = inferShapes(readModel(fixture(file)));
    expect(Object.keys(theirs).length).toBeGreaterThan(5);
    for (const [name, [elemType, dims]] of Object.entries(theirs)) {
      const t = ours.get(name);
      expect(t, name).toBeDefined();
      expect(t!.elemType, name).toBe(elemType);
      // onnx names a dim it cannot relate to the inputs 'unk__k'; we keep the input's name or say null there.
      const open = (d: number | string): boolean => typeof d === 'string' && /^unk__|^\?$/.test(d);
      const mine = t!.dims.map((d, i) => (open(dims[i]) ? '*' : d));
      expect(mine, name).toEqual(dims.map((d) => (open(d) ? '*' : d)));
    }
  });

  it('fixes named dims from inputShapes', () => {
    const t = inferShapes(readModel(fixture('ops-model.onnx')), { x: [2, 3, 9, 9] });
    expect(t.get('rsh')!.dims).toEqual([2, 540]);
    expect(t.get('unsq')!.dims).toEqual([2, 1, 5]);
    expect(() => inferShapes(readModel(fixture('ops-model.onnx')), { y: [1] })).toThrow(/no input 'y'/);
  });
});

describe('topologicalNodes', () => {
  const x = makeValueInfo('x', DataType.FLOAT, [1, 2]);
  const y = makeValueInfo('y', DataType.FLOAT, [1, 2]);
  it('orders producers before consumers and keeps a valid order as it is', () => {
    const a = makeNode('Relu', ['x'], ['a'], { name: 'a' });
    const b = makeNode('Neg', ['a'], ['b'], { name: 'b' });
    const c = makeNode('Add', ['a', 'b'], ['y'], { name: 'c' });
    const g = makeGraph({ name: 'g', inputs: [x], outputs: [y], nodes: [c, b, a] });
    expect(topologicalNodes(g).map((n) => n.name)).toEqual(['a', 'b', 'c']);
    const ordered = makeGraph({ name: 'g', inputs: [x], outputs: [y], nodes: [a, b, c] });
    expect(topologicalNodes(ordered).map((n) => n.name)).toEqual(['a', 'b', 'c']);
    const m = readModel(fixture('converter-12net.onnx'));
    expect(topologicalNodes(m.graph!)).toEqual(m.graph!.node);
  });
  it('names the node on a cycle or with a missing input', () => {
    const a = makeNode('Add', ['x', 'b'], ['a'], { name: 'a' });
    const b = makeNode('Neg', ['a'], ['b'], { name: 'b' });
    expect(() => topologicalNodes(makeGraph({ name: 'g', inputs: [x], outputs: [y], nodes: [a, b] }))).toThrow(
      /node 'a' \(Add\) is on a cycle/,
    );
    const c = makeNode('Neg', ['nope'], ['y'], { name: 'c' });
    expect(() => topologicalNodes(makeGraph({ name: 'g', inputs: [x], outputs: [y], nodes: [c] }))).toThrow(OnnxError);
  });
});

describe('addOutputs', () => {
  it('exposes intermediate values that onnxruntime computes, and passes onnx.checker', async () => {
    const model = readModel(fixture('ops-model.onnx'));
    const extra = ['conv', 'ap', 'mm', 'q', 'neg'];
    const bytes = writeModel(addOutputs(model, [...extra, 'emb']));
    checkModel(bytes);
    const session = await ort.InferenceSession.create(bytes);
    expect(session.outputNames).toEqual([...model.graph!.output.map((o) => o.name), ...extra]);
    const data = Float32Array.from({ length: 2 * 3 * 81 }, (_, i) => Math.sin(i));
    const out = await session.run({ x: new ort.Tensor('float32', data, [2, 3, 9, 9]) });
    expect(out.conv.dims).toEqual([2, 4, 5, 5]);
    expect(out.ap.dims).toEqual([2, 4, 3, 3]);
    expect(out.q.type).toBe('uint8');
    expect(out.neg.type).toBe('bool');
    // mm is what the model's own Div divides: emb = mm / max(||mm||, eps).
    const mm = out.mm.data as Float32Array;
    const emb = out.emb.data as Float32Array;
    for (let r = 0; r < 2; r++) {
      const row = mm.subarray(r * 5, r * 5 + 5);
      const norm = Math.hypot(...row);
      for (let j = 0; j < 5; j++) expect(emb[r * 5 + j]).toBeCloseTo(row[j] / norm, 6);
    }
    // The conv output equals a direct computation (weights 0.1, bias 0.1, stride 2, pad 1) at one position.
    let s = 0.1;
    for (let ch = 0; ch < 3; ch++) {
      for (let ky = 0; ky < 3; ky++) {
        for (let kx = 0; kx < 3; kx++) s += 0.1 * data[ch * 81 + (2 + ky - 1) * 9 + (2 + kx - 1)];
      }
    }
    expect((out.conv.data as Float32Array)[1 * 5 + 1]).toBeCloseTo(s, 5);
    await session.release();
  });

  it('refuses a name that is not in the graph', () => {
    expect(() => addOutputs(readModel(fixture('ops-model.onnx')), ['nope'])).toThrow(/no value 'nope'/);
  });
});

describe('modelCost', () => {
  it('counts Conv and Gemm FLOPs as worked out by hand', () => {
    // Conv: 1x3x8x8 input, 4 filters 3x3, pad 1, stride 1 -> 1x4x8x8; Gemm 1x256 . 256x10 + bias.
    const conv = makeNode('Conv', ['x', 'w', 'b'], ['c'], { name: 'conv', attributes: { pads: [1, 1, 1, 1] } });
    const flat = makeNode('Flatten', ['c'], ['f'], { name: 'flat' });
    const gemm = makeNode('Gemm', ['f', 'fc', 'fb'], ['y'], { name: 'gemm' });
    const graph = makeGraph({
      name: 'g',
      nodes: [conv, flat, gemm],
      inputs: [makeValueInfo('x', DataType.FLOAT, ['N', 3, 8, 8])],
      outputs: [makeValueInfo('y', DataType.FLOAT, ['N', 10])],
      initializers: [
        makeTensor('w', DataType.FLOAT, [4, 3, 3, 3], new Float32Array(108)),
        makeTensor('b', DataType.FLOAT, [4], new Float32Array(4)),
        makeTensor('fc', DataType.FLOAT, [256, 10], new Float32Array(2560)),
        makeTensor('fb', DataType.FLOAT, [10], new Float32Array(10)),
      ],
    });
    const model = makeModel({ graph, opset: 17 });
    checkModel(writeModel(model));
    const cost = modelCost(model);
    const [c, f, g] = cost.nodes;
    // 256 outputs, each 27 multiply-adds (3 channels x 3 x 3) + 1 bias add.
    expect(c).toEqual({
      name: 'conv',
      opType: 'Conv',
      flops: 256 * (2 * 27 + 1),
      bytesRead: 4 * (192 + 108 + 4),
      bytesWritten: 4 * 256,
    });
    expect(f.flops).toBe(0);
    // 10 outputs, each 256 multiply-adds + 1 bias add.
    expect(g).toEqual({
      name: 'gemm',
      opType: 'Gemm',
      flops: 10 * (2 * 256 + 1),
      bytesRead: 4 * (256 + 2560 + 10),
      bytesWritten: 40,
    });
    expect(cost.flops).toBe(c.flops + g.flops);
    expect(cost.parameters).toBe(108 + 4 + 2560 + 10);
    expect(cost.bytes).toBe(cost.nodes.reduce((s, n) => s + n.bytesRead + n.bytesWritten, 0));
    // A batch of 8 is 8 times the work.
    expect(modelCost(model, { x: [8, 3, 8, 8] }).flops).toBe(8 * cost.flops);
  });

  it('covers every node of the converter and python fixtures', () => {
    for (const file of MODELS) {
      const cost = modelCost(readModel(fixture(file)));
      expect(cost.unknownOps, file).toEqual([]);
      expect(cost.flops, file).toBeGreaterThan(0);
      for (const n of cost.nodes) expect(n.bytesWritten, `${file} ${n.name}`).toBeGreaterThan(0);
    }
  });
});

describe('a model that is not ours', () => {
  it('keeps an unknown op out of the shapes but walks past it', () => {
    const graph = makeGraph({
      name: 'g',
      nodes: [makeNode('MyOp', ['x'], ['a'], { domain: 'com.example' }), makeNode('Relu', ['x'], ['y'])],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, 2])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [1, 2])],
    });
    const m = makeModel({ graph, opset: 17 });
    m.opsetImport.push({ domain: 'com.example', version: 1 });
    const shapes = inferShapes(m);
    expect(shapes.has('a')).toBe(false);
    expect(shapes.get('y')).toEqual({ elemType: DataType.FLOAT, dims: [1, 2] });
    expect(modelCost(m).unknownOps).toEqual(['com.example.MyOp']);
    expect(() => addOutputs(m, ['a'])).toThrow(/type of 'a' cannot be inferred/);
    expect(tmpFile('m.onnx', writeModel(m))).toMatch(/m\.onnx$/);
  });
});

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DataType,
  getAttribute,
  getMetadata,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  OnnxError,
  readModel,
  setMetadata,
  tensorData,
  writeModel,
  writeModelChunks,
} from '../src/index.js';
import { checkModel, python, tmpFile } from './python.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const pythonModel = new Uint8Array(readFileSync(join(FIXTURES, 'python-model.onnx')));

/** Our object in protobuf's JSON mapping (int64 as strings, bytes as base64, defaults left out), like MessageToDict. */
function toProtoJson(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(toProtoJson);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const j = toProtoJson(x);
      if (j !== undefined) out[k] = j;
    }
    return out;
  }
  return v;
}

describe('readModel', () => {
  it('reads what the onnx Python package wrote, field for field as protobuf itself reads it', () => {
    const ours = readModel(pythonModel);
    const theirs = JSON.parse(
      python(
        'import onnx,sys,json; from google.protobuf.json_format import MessageToDict as d; ' +
          'print(json.dumps(d(onnx.load(sys.argv[1]), use_integers_for_enums=True)))',
        [join(FIXTURES, 'python-model.onnx')],
      ),
    );
    // MessageToDict writes int64 as strings and float32 in their shortest form; compare as float32 numbers.
    const norm = (o: unknown): unknown =>
      JSON.parse(
        JSON.stringify(o, (_k, x) =>
          typeof x === 'string' && /^-?\d+$/.test(x) ? Number(x) : typeof x === 'number' ? Math.fround(x) : x,
        ),
      );
    const ourJson = toProtoJson(ours) as Record<string, unknown>;
    expect(norm(ourJson)).toEqual(norm(theirs));
    // The one value past 2^53 stays exact.
    const ends = ours.graph!.initializer.find((t) => t.name === 'ends')!;
    expect(ends.int64Data).toEqual([9223372036854775807n]);
  });

  it('gives typed arrays for raw and typed tensor data', () => {
    const m = readModel(pythonModel);
    const byName = new Map(m.graph!.initializer.map((t) => [t.name, t]));
    const w = tensorData(byName.get('w')!) as Float32Array;
    expect(w).toBeInstanceOf(Float32Array);
    expect(w.length).toBe(54);
    expect(w[0]).toBe(-1);
    expect(w[53]).toBe(1);
    expect(Array.from(tensorData(byName.get('b')!) as Float32Array)).toEqual([0.5, -0.25]);
    expect(tensorData(byName.get('ends')!)).toEqual(BigInt64Array.of(9223372036854775807n));
    const conv = m.graph!.node[0];
    expect(getAttribute(conv, 'pads')).toEqual([1, 1, 1, 1]);
    expect(getAttribute(m.graph!.node[1], 'alpha')).toBeCloseTo(0.1, 7);
    expect(getAttribute(m.graph!.node[2], 'auto_pad')).toBe('VALID');
    expect(getAttribute(conv, 'dilations')).toBeUndefined();
    expect(getMetadata(m)).toEqual({ author: 'semembed tests', labels: 'a,b' });
  });

  it('refuses bytes that are not a model, naming the source', () => {
    expect(() => readModel(new Uint8Array([0xff, 0xff, 0xff]), 'x.onnx')).toThrow(OnnxError);
    expect(() => readModel(new Uint8Array([0xff, 0xff, 0xff]), 'x.onnx')).toThrow(/^x\.onnx: not an ONNX model/);
    expect(() => readModel(new TextEncoder().encode('{"json": true}'), 'y.onnx')).toThrow(/^y\.onnx: not an ONNX/);
  });
});

describe('writeModel', () => {
  it('round-trips a python-written model byte for byte', () => {
    expect(Buffer.compare(Buffer.from(writeModel(readModel(pythonModel))), Buffer.from(pythonModel))).toBe(0);
  });

  it('writes what onnx.checker accepts and onnx reads back with the same values', () => {
    const x = makeValueInfo('x', DataType.FLOAT, ['N', 4]);
    const y = makeValueInfo('y', DataType.FLOAT, ['N', 3]);
    const w = makeTensor(
      'w',
      DataType.FLOAT,
      [4, 3],
      Float32Array.from({ length: 12 }, (_, i) => i / 4 - 1),
    );
    const shape = makeTensor('shape', DataType.INT64, [2], [-1, 3]);
    const graph = makeGraph({
      name: 'g',
      inputs: [x],
      outputs: [y],
      initializers: [w, shape],
      nodes: [
        makeNode('MatMul', ['x', 'w'], ['m'], { name: 'mm' }),
        makeNode('Reshape', ['m', 'shape'], ['r'], { name: 'rs' }),
        makeNode('LeakyRelu', ['r'], ['y'], { name: 'act', attributes: { alpha: { float: 0.5 } } }),
      ],
    });
    const model = setMetadata(makeModel({ graph, opset: 17, producerName: 'test', docString: 'd' }), { k: 'v' });
    expect(model.irVersion).toBe(8);
    const bytes = writeModel(model);
    checkModel(bytes);
    const dump = python(
      'import onnx,sys; from onnx import numpy_helper as nh; m=onnx.load(sys.argv[1]); ' +
        'print(m.ir_version, m.opset_import[0].version, m.metadata_props[0].key, m.metadata_props[0].value); ' +
        'print(" ".join(str(v) for v in nh.to_array(m.graph.initializer[0]).ravel())); ' +
        'print(m.graph.node[2].attribute[0].f, m.graph.input[0].type.tensor_type.shape.dim[0].dim_param)',
      [tmpFile('m.onnx', bytes)],
    )
      .trim()
      .split('\n');
    expect(dump[0]).toBe('8 17 k v');
    expect(dump[1].split(' ').map(Number)).toEqual(Array.from(tensorData(w) as Float32Array));
    expect(dump[2]).toBe('0.5 N');
    expect(writeModel(readModel(bytes))).toEqual(bytes);
  });

  it('writes large tensors as chunks that pass their bytes through, concatenating to the same file', () => {
    const big = new Float32Array(100_000).map((_, i) => Math.cos(i));
    const small = makeTensor('s', DataType.FLOAT, [2], Float32Array.of(1, 2));
    const w = makeTensor('w', DataType.FLOAT, [1000, 100], big);
    const graph = makeGraph({
      name: 'g',
      initializers: [small, w],
      nodes: [makeNode('MatMul', ['x', 'w'], ['y'])],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, 1000])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [1, 100])],
    });
    const model = makeModel({ graph, opset: 17 });
    const chunks = writeModelChunks(model);
    expect(chunks.some((c) => c.buffer === big.buffer)).toBe(true);
    expect(Buffer.concat(chunks)).toEqual(Buffer.from(writeModel(model)));
    const back = readModel(writeModel(model));
    expect(tensorData(back.graph!.initializer[1])).toEqual(big);
    checkModel(writeModel(model));
  });

  it('writes int64 values past 2^53 exactly', () => {
    const m = readModel(pythonModel);
    const ends = m.graph!.initializer.find((t) => t.name === 'ends')!;
    ends.int64Data = [-9223372036854775808n];
    const out = python('import onnx,sys; print(onnx.load(sys.argv[1]).graph.initializer[3].int64_data[0])', [
      tmpFile('m.onnx', writeModel(m)),
    ]);
    expect(out.trim()).toBe('-9223372036854775808');
  });

  it('names the field that is wrong', () => {
    const m = readModel(pythonModel);
    (m.graph!.node[0] as unknown as { name: number }).name = 5;
    expect(() => writeModel(m)).toThrow(/writeModel: not a valid ModelProto \(.*name: string expected/);
  });
});

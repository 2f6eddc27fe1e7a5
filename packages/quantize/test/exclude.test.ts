import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataType, readModel, type onnx } from '@semembed/onnx';
import { datasetSamples, quantizeFile, QuantizeError } from '../src/index.js';
import { fixture, maxAbsDiff, onnxCheck, run, tmp } from './helpers.js';

// --nodes_to_exclude: the named nodes stay float32 in every mode. fashion-tiny's nodes are unnamed, so they are named
// `OpType#index` (their place in the graph): Conv#1 (depth 9: float in the web form anyway), Conv#4 (16 -> 16 3x3),
// Gemm#8 (the embedding), Gemm#14 (the class head).

const SIDE = fixture('fashion-tiny.json');
const IN = fixture('fashion-tiny.onnx');
let calib: Awaited<ReturnType<typeof datasetSamples>>;
let test: Awaited<ReturnType<typeof datasetSamples>>;
let ref: Record<string, Float32Array>;
let dir: string;

beforeAll(async () => {
  dir = tmp();
  calib = await datasetSamples('FashionMNIST', undefined, SIDE, 'train', 64);
  test = await datasetSamples('FashionMNIST', undefined, SIDE, 'test', 100);
  ref = await run(IN, test.data, [test.n, 28, 28, 1]);
});

const node = (m: onnx.ModelProto, name: string) => m.graph!.node.find((n) => n.name === name);
const producer = (m: onnx.ModelProto, t: string) => m.graph!.node.find((n) => n.output.includes(t));
const init = (m: onnx.ModelProto, t: string) => m.graph!.initializer.find((x) => x.name === t);

async function quantise(name: string, o: Parameters<typeof quantizeFile>[2]) {
  const out = join(dir, `${name}.onnx`);
  const r = await quantizeFile(IN, out, o);
  onnxCheck(out);
  const got = await run(out, test.data, [test.n, 28, 28, 1]);
  return {
    r,
    m: readModel(readFileSync(out)),
    d: maxAbsDiff(got.l2norm, ref.l2norm),
    sc: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')),
  };
}

describe('--nodes_to_exclude keeps the named nodes float32', () => {
  it('int8 (web form): the excluded conv reads its float weight, every other weighted node is int8', async () => {
    const base = await quantise('int8', { mode: 'int8', calibration: [calib] });
    const ex = await quantise('int8-ex', { mode: 'int8', calibration: [calib], nodesToExclude: ['Conv#4'] });
    const conv = node(ex.m, 'Conv#4')!;
    expect(conv.opType).toBe('Conv');
    expect(init(ex.m, conv.input[1])?.dataType).toBe(DataType.FLOAT);
    expect(producer(ex.m, conv.input[1])).toBeUndefined(); // not a DequantizeLinear output
    // Nothing int8 around it either: a float input, and no QuantizeLinear reads its output.
    expect(producer(ex.m, conv.input[0])?.opType).not.toBe('DequantizeLinear');
    const readers = ex.m.graph!.node.filter((n) => n.input.includes(conv.output[0]));
    expect(readers.length).toBeGreaterThan(0);
    expect(readers.some((n) => n.opType === 'QuantizeLinear')).toBe(false);
    // In the plain int8 model the same conv reads a dequantised int8 weight.
    const qconv = base.m.graph!.node.filter((n) => n.opType === 'Conv')[1];
    expect(producer(base.m, qconv.input[1])?.opType).toBe('DequantizeLinear');
    expect(ex.r.info.int8Weights).toBe((base.r.info.int8Weights as number) - 1);
    expect(ex.r.info.skipped).toContain('Conv#4: --nodes_to_exclude');
    expect(ex.sc.quantization.nodesToExclude).toEqual(['Conv#4']);
    expect(base.sc.quantization.nodesToExclude).toBeUndefined();
    expect(ex.d).toBeLessThanOrEqual(0.06);
    expect(ex.d).toBeGreaterThan(0); // the rest is still int8
  });

  it('int8 (cpu form) and dynamic: an excluded Gemm stays a float Gemm', async () => {
    const cpu = await quantise('cpu-ex', {
      mode: 'int8',
      target: 'cpu',
      calibration: [calib],
      nodesToExclude: ['Gemm#8'],
    });
    const gemm = node(cpu.m, 'Gemm#8')!;
    expect(gemm.opType).toBe('Gemm');
    expect(init(cpu.m, gemm.input[1])?.dataType).toBe(DataType.FLOAT);
    expect(cpu.r.info.skipped).toEqual(['Gemm#8: --nodes_to_exclude']);
    expect(cpu.d).toBeLessThanOrEqual(0.06);

    const dyn = await quantise('dyn-ex', { mode: 'dynamic', nodesToExclude: ['Gemm#14'] });
    expect(dyn.m.graph!.node.filter((n) => n.opType === 'MatMulInteger')).toHaveLength(1);
    expect(node(dyn.m, 'Gemm#14')?.opType).toBe('Gemm');
    expect(dyn.r.info.skipped).toEqual(['Gemm#14: --nodes_to_exclude']);
    expect(dyn.d).toBeLessThanOrEqual(0.03);
  });

  it('fp16: the excluded conv keeps its float32 weight while the other conv turns float16', async () => {
    const ex = await quantise('fp16-ex', { mode: 'fp16', nodesToExclude: ['Conv#4'] });
    const convs = ex.m.graph!.node.filter((n) => n.opType === 'Conv');
    expect(convs.map((c) => init(ex.m, c.input[1])?.dataType)).toEqual([DataType.FLOAT16, DataType.FLOAT]);
    expect(convs[1].name).toBe('Conv#4');
    expect(ex.r.info.keptFloat32).toContain('Conv#4');
    expect(ex.d).toBeLessThanOrEqual(2e-3);
  });

  it('an unknown name fails before any work, names what exists, and writes nothing', async () => {
    const out = join(dir, 'bad.onnx');
    const p = quantizeFile(IN, out, {
      mode: 'int8',
      calibration: [calib],
      nodesToExclude: ['Conv#4', 'Conv#99', 'conv3'],
    });
    await expect(p).rejects.toBeInstanceOf(QuantizeError);
    await expect(p).rejects.toThrow(
      /no node named 'Conv#99', 'conv3' in .*fashion-tiny\.onnx \(its nodes: Transpose#0, Conv#1,/,
    );
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'bad.json'))).toBe(false);
  });
});

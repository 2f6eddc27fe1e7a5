/**
 * A minimal protobuf encoder for the parts of onnx.proto (ONNX IR 8) the converter writes. Field numbers
 * follow onnx/onnx.proto; the writer streams large tensors as raw_data without re-copying them through
 * generic message objects.
 */

export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export type AttrValue = number | string | number[] | string[] | { int: number } | { floats: number[] } | TensorProto;

export interface TensorProto {
  name: string;
  dataType: number;
  dims: number[];
  raw: Uint8Array;
}

export interface NodeProto {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  elemType: number;
  /** number = fixed size, string = named dynamic dimension. */
  shape: (number | string)[];
}

export interface ModelProto {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  graphName: string;
  docString?: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  metadata?: Record<string, string>;
}

class Writer {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(1024);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, 1024));
  }
  private flush(): void {
    if (this.pos > 0) this.chunks.push(this.buf.slice(0, this.pos));
    this.pos = 0;
  }
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  bytesField(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    if (data.length > 4096) {
      this.flush();
      this.chunks.push(data);
    } else {
      this.ensure(data.length);
      this.buf.set(data, this.pos);
      this.pos += data.length;
    }
  }
  stringField(field: number, s: string): void {
    this.bytesField(field, new TextEncoder().encode(s));
  }
  intField(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }
  floatField(field: number, v: number): void {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).setFloat32(0, v, true);
    this.pos += 4;
  }
  messageField(field: number, w: Writer): void {
    const parts = w.finishParts();
    let n = 0;
    for (const p of parts) n += p.length;
    this.tag(field, 2);
    this.varint(n);
    this.flush();
    for (const p of parts) this.chunks.push(p);
  }
  finishParts(): Uint8Array[] {
    this.flush();
    return this.chunks;
  }
  finish(): Uint8Array {
    const parts = this.finishParts();
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function tensorMsg(t: TensorProto): Writer {
  const w = new Writer();
  for (const d of t.dims) w.intField(1, d);
  w.intField(2, t.dataType);
  w.stringField(8, t.name);
  w.bytesField(9, t.raw);
  return w;
}

function attrMsg(name: string, v: AttrValue): Writer {
  const w = new Writer();
  w.stringField(1, name);
  if (typeof v === 'number') {
    w.floatField(2, v);
    w.intField(20, AttrType.FLOAT);
  } else if (typeof v === 'string') {
    w.stringField(4, v);
    w.intField(20, AttrType.STRING);
  } else if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) {
      for (const s of v as string[]) w.stringField(9, s);
      w.intField(20, AttrType.STRINGS);
    } else {
      for (const i of v as number[]) w.intField(8, i);
      w.intField(20, AttrType.INTS);
    }
  } else if ('int' in v) {
    w.intField(3, v.int);
    w.intField(20, AttrType.INT);
  } else if ('floats' in v) {
    for (const f of v.floats) w.floatField(7, f);
    w.intField(20, AttrType.FLOATS);
  } else {
    w.messageField(5, tensorMsg(v));
    w.intField(20, AttrType.TENSOR);
  }
  return w;
}

function valueInfoMsg(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.intField(1, d);
    else dim.stringField(2, d);
    shape.messageField(1, dim);
  }
  const tensorType = new Writer();
  tensorType.intField(1, v.elemType);
  tensorType.messageField(2, shape);
  const type = new Writer();
  type.messageField(1, tensorType);
  const w = new Writer();
  w.stringField(1, v.name);
  w.messageField(2, type);
  return w;
}

/** Serialises a model to ONNX protobuf bytes. */
export function encodeModel(m: ModelProto): Uint8Array {
  return modelWriter(m).finish();
}

/** The serialised model as a list of chunks (large tensors are not copied), to stream into a file. */
export function encodeModelChunks(m: ModelProto): Uint8Array[] {
  return modelWriter(m).finishParts();
}

function modelWriter(m: ModelProto): Writer {
  const g = new Writer();
  for (const n of m.nodes) {
    const nw = new Writer();
    for (const i of n.inputs) nw.stringField(1, i);
    for (const o of n.outputs) nw.stringField(2, o);
    nw.stringField(3, n.name);
    nw.stringField(4, n.opType);
    for (const [k, v] of Object.entries(n.attrs)) nw.messageField(5, attrMsg(k, v));
    g.messageField(1, nw);
  }
  g.stringField(2, m.graphName);
  for (const t of m.initializers) g.messageField(5, tensorMsg(t));
  for (const v of m.inputs) g.messageField(11, valueInfoMsg(v));
  for (const v of m.outputs) g.messageField(12, valueInfoMsg(v));

  const w = new Writer();
  w.intField(1, m.irVersion);
  w.stringField(2, m.producerName);
  w.stringField(3, m.producerVersion);
  if (m.docString) w.stringField(6, m.docString);
  w.messageField(7, g);
  const opset = new Writer();
  opset.stringField(1, '');
  opset.intField(2, m.opset);
  w.messageField(8, opset);
  for (const [k, v] of Object.entries(m.metadata ?? {})) {
    const e = new Writer();
    e.stringField(1, k);
    e.stringField(2, v);
    w.messageField(14, e);
  }
  return w;
}

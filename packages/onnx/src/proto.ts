/**
 * ONNX files <-> the plain objects of types.ts, through protobufjs and the descriptor made from the official
 * onnx.proto3 (scripts/make-descriptor.mjs). Browser-safe: bytes in, bytes out.
 */
import protobuf from 'protobufjs/light.js';
import descriptor from './onnx.proto3.json' with { type: 'json' };
import { OnnxError } from './errors.js';
import type { onnx } from './types.js';

const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
const ModelType = root.lookupType('onnx.ModelProto');

/** int64 fields that are sizes, versions or counts: numbers, refused past 2^53. Every other int64 may be a bigint. */
const EXACT_INT64 = new Set([
  'onnx.AttributeProto.i',
  'onnx.AttributeProto.ints',
  'onnx.TensorProto.int64Data',
  'onnx.TensorProto.uint64Data',
]);
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

interface Plan {
  longs: { name: string; repeated: boolean; exact: boolean; unsigned: boolean }[];
  messages: { name: string; repeated: boolean; type: protobuf.Type }[];
}
const plans = new Map<protobuf.Type, Plan>();

function planOf(type: protobuf.Type): Plan {
  let plan = plans.get(type);
  if (plan) return plan;
  plan = { longs: [], messages: [] };
  plans.set(type, plan);
  for (const f of type.fieldsArray) {
    f.resolve();
    if (LONG_TYPES.has(f.type)) {
      plan.longs.push({
        name: f.name,
        repeated: f.repeated,
        exact: EXACT_INT64.has(f.fullName.replace(/^\./, '')),
        unsigned: f.type === 'uint64' || f.type === 'fixed64',
      });
    } else if (f.resolvedType instanceof protobuf.Type) {
      plan.messages.push({ name: f.name, repeated: f.repeated, type: f.resolvedType });
    }
  }
  return plan;
}

function fromBigint(v: bigint, exact: boolean, where: string): number | bigint {
  if (v >= -9007199254740991n && v <= 9007199254740991n) return Number(v);
  if (exact) return v;
  throw new OnnxError(`${where}: ${v} is too large for a size or version`);
}

/** protobufjs hands int64 as bigint (toObject longs: BigInt); sizes become numbers, other values where exact. */
function normaliseDecoded(type: protobuf.Type, obj: Record<string, unknown>, where: string): void {
  const plan = planOf(type);
  for (const f of plan.longs) {
    const v = obj[f.name];
    if (v === undefined) continue;
    const at = `${where}.${f.name}`;
    if (f.repeated) {
      const a = v as bigint[];
      for (let i = 0; i < a.length; i++) (a as unknown[])[i] = fromBigint(BigInt(a[i]), f.exact, at);
    } else obj[f.name] = fromBigint(BigInt(v as bigint), f.exact, at);
  }
  for (const f of plan.messages) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.repeated) {
      const a = v as Record<string, unknown>[];
      for (let i = 0; i < a.length; i++) normaliseDecoded(f.type, a[i], `${where}.${f.name}[${i}]`);
    } else normaliseDecoded(f.type, v as Record<string, unknown>, `${where}.${f.name}`);
  }
}

function toLongLike(v: unknown): unknown {
  if (typeof v !== 'bigint') return v;
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: false };
}

/** protobufjs cannot write bigints: a copy (only along the paths that hold one) with them as {low, high}. */
function prepareForEncode(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const plan = planOf(type);
  let out = obj;
  const set = (k: string, v: unknown): void => {
    if (out === obj) out = { ...obj };
    out[k] = v;
  };
  for (const f of plan.longs) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.repeated) {
      const a = v as unknown[];
      if (a.some((x) => typeof x === 'bigint')) set(f.name, a.map(toLongLike));
    } else if (typeof v === 'bigint') set(f.name, toLongLike(v));
  }
  for (const f of plan.messages) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.repeated) {
      const a = v as Record<string, unknown>[];
      let copy: Record<string, unknown>[] | undefined;
      for (let i = 0; i < a.length; i++) {
        const p = prepareForEncode(f.type, a[i]);
        if (p !== a[i]) (copy ??= a.slice())[i] = p;
      }
      if (copy) set(f.name, copy);
    } else {
      const p = prepareForEncode(f.type, v as Record<string, unknown>);
      if (p !== v) set(f.name, p);
    }
  }
  return out;
}

/**
 * Parses an ONNX file. `source` (a file name) starts the error message when the bytes are not an ONNX model.
 * Raw tensor bytes are views into `bytes`, not copies.
 */
export function readModel(bytes: Uint8Array, source = 'ONNX model'): onnx.ModelProto {
  let obj: Record<string, unknown>;
  try {
    const msg = ModelType.decode(bytes);
    obj = ModelType.toObject(msg, { longs: BigInt, arrays: true }) as Record<string, unknown>;
  } catch (e) {
    throw new OnnxError(`${source}: not an ONNX model (${(e as Error).message})`);
  }
  if (obj.graph === undefined || obj.irVersion === undefined) {
    throw new OnnxError(`${source}: not an ONNX model (no ${obj.graph === undefined ? 'graph' : 'ir_version'})`);
  }
  normaliseDecoded(ModelType, obj, source);
  return obj as unknown as onnx.ModelProto;
}

/** Raw tensor data at least this large is passed through as its own chunk instead of being copied. */
const BIG = 1 << 16;
const GraphType = root.lookupType('onnx.GraphProto');
const TensorType = root.lookupType('onnx.TensorProto');

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Tag and length of a length-delimited field. */
const header = (field: number, length: number): Uint8Array =>
  Uint8Array.from([...varint((field << 3) | 2), ...varint(length)]);

/** The message's fields whose number passes `keep`, encoded (protobufjs writes only own, set properties). */
function encodeFields(type: protobuf.Type, obj: Record<string, unknown>, keep: (id: number) => boolean): Uint8Array {
  const part: Record<string, unknown> = {};
  for (const f of type.fieldsArray) if (keep(f.id) && f.name in obj) part[f.name] = obj[f.name];
  return type.encode(part).finish();
}

const total = (chunks: Uint8Array[]): number => chunks.reduce((n, c) => n + c.length, 0);

/** A field in the middle of a message, written as [fields before, header, ...value chunks, fields after]. */
function splice(type: protobuf.Type, obj: Record<string, unknown>, field: number, value: Uint8Array[][]): Uint8Array[] {
  const out = [encodeFields(type, obj, (id) => id < field)];
  for (const chunks of value) out.push(header(field, total(chunks)), ...chunks);
  out.push(encodeFields(type, obj, (id) => id > field));
  return out;
}

function tensorChunks(t: Record<string, unknown>): Uint8Array[] {
  const raw = t.rawData as Uint8Array | undefined;
  if (!raw || raw.length < BIG) return [TensorType.encode(t).finish()];
  return splice(TensorType, t, 9, [[raw]]);
}

/**
 * The serialised model as a list of chunks whose concatenation is the file: large raw tensor data is passed
 * through, not copied (protobufjs alone would copy it several times), for writing straight into a file.
 */
export function writeModelChunks(model: onnx.ModelProto): Uint8Array[] {
  const prepared = prepareForEncode(ModelType, model as unknown as Record<string, unknown>);
  const problem = ModelType.verify(prepared);
  if (problem) throw new OnnxError(`writeModel: not a valid ModelProto (${problem})`);
  const graph = prepared.graph as Record<string, unknown> | undefined;
  if (!graph) return [ModelType.encode(prepared).finish()];
  const inits = (graph.initializer ?? []) as Record<string, unknown>[];
  const graphChunks = splice(GraphType, graph, 5, inits.map(tensorChunks));
  return splice(ModelType, prepared, 7, [graphChunks]).filter((c) => c.length > 0);
}

/**
 * Serialises a model. Fields are written in field-number order, repeated numbers unpacked where the schema does
 * not pack them, set fields even when they hold the default: the same bytes as onnx's Python writer.
 */
export function writeModel(model: onnx.ModelProto): Uint8Array {
  const chunks = writeModelChunks(model);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total(chunks));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

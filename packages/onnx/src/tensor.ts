/** Tensor payloads: typed arrays out of a TensorProto (tensorData) and into one (makeTensor). */
import { OnnxError } from './errors.js';
import { DataType, type Int64, type onnx } from './types.js';

export type TensorArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

type ArrayCtor = {
  new (buf: ArrayBuffer, off: number, len: number): TensorArray;
  new (len: number): TensorArray;
  BYTES_PER_ELEMENT: number;
};

/** The typed array per data type; FLOAT16 and BFLOAT16 come as their 16-bit patterns, BOOL as 0/1 bytes. */
const ARRAY: Partial<Record<number, ArrayCtor>> = {
  [DataType.FLOAT]: Float32Array,
  [DataType.DOUBLE]: Float64Array,
  [DataType.INT8]: Int8Array,
  [DataType.UINT8]: Uint8Array,
  [DataType.BOOL]: Uint8Array,
  [DataType.INT16]: Int16Array,
  [DataType.UINT16]: Uint16Array,
  [DataType.FLOAT16]: Uint16Array,
  [DataType.BFLOAT16]: Uint16Array,
  [DataType.INT32]: Int32Array,
  [DataType.UINT32]: Uint32Array,
  [DataType.INT64]: BigInt64Array,
  [DataType.UINT64]: BigUint64Array,
} as unknown as Record<number, ArrayCtor>;

/** Which repeated field holds the values when raw_data is absent (onnx.proto3's comments on each field). */
function typedField(t: onnx.TensorProto): ArrayLike<number | bigint> {
  switch (t.dataType) {
    case DataType.FLOAT:
      return t.floatData;
    case DataType.DOUBLE:
      return t.doubleData;
    case DataType.INT64:
      return t.int64Data;
    case DataType.UINT32:
    case DataType.UINT64:
      return t.uint64Data;
    default:
      return t.int32Data;
  }
}

const NAMES = Object.fromEntries(Object.entries(DataType).map(([k, v]) => [v, k])) as Record<number, string>;

/** The name of a data type ("FLOAT16"), for messages. */
export function dataTypeName(dataType: number): string {
  return NAMES[dataType] ?? `data type ${dataType}`;
}

/** Bytes per element, or undefined for the types tensorData does not handle (string, complex, sub-byte, fp8). */
export function elementSize(dataType: number): number | undefined {
  return ARRAY[dataType]?.BYTES_PER_ELEMENT;
}

/** The number of elements of a shape (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function tensorLabel(t: onnx.TensorProto): string {
  return `tensor '${t.name ?? ''}'`;
}

/**
 * The values of a tensor as a typed array. From raw_data it is a view when the bytes are aligned (it shares memory
 * with the model: copy before changing it), else a copy. Little-endian hosts only, as every ONNX runtime.
 */
export function tensorData(t: onnx.TensorProto): TensorArray {
  const dt = t.dataType ?? DataType.UNDEFINED;
  const Ctor = ARRAY[dt];
  if (!Ctor) throw new OnnxError(`${tensorLabel(t)}: ${dataTypeName(dt)} tensors are not supported here`);
  if (t.dataLocation === 1 || t.externalData.length > 0) {
    throw new OnnxError(`${tensorLabel(t)}: its data is in an external file, not in the model bytes`);
  }
  const n = elementCount(t.dims);
  const raw = t.rawData;
  if (raw !== undefined && raw.length > 0) {
    const size = Ctor.BYTES_PER_ELEMENT;
    if (raw.length !== n * size) {
      throw new OnnxError(`${tensorLabel(t)}: ${raw.length} bytes of raw data for ${n} ${dataTypeName(dt)} values`);
    }
    if (raw.byteOffset % size === 0) return new Ctor(raw.buffer as ArrayBuffer, raw.byteOffset, n);
    const copy = new Uint8Array(raw);
    return new Ctor(copy.buffer, 0, n);
  }
  const values = typedField(t);
  if (values.length !== n) {
    throw new OnnxError(`${tensorLabel(t)}: ${values.length} values for shape [${t.dims.join(', ')}]`);
  }
  return typedCopy(Ctor, values);
}

/** A new typed array of `Ctor` holding `values` (bigints for the 64-bit integer types, numbers for the others). */
function typedCopy(Ctor: ArrayCtor, values: ArrayLike<number | bigint>): TensorArray {
  const out = new Ctor(values.length);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  const dst = out as unknown as (number | bigint)[];
  for (let i = 0; i < values.length; i++) dst[i] = big ? BigInt(values[i]) : Number(values[i]);
  return out;
}

/** Values for makeTensor: a typed array of the tensor's type, plain numbers/bigints, or the raw bytes. */
export type TensorValues = TensorArray | readonly (number | bigint)[] | { raw: Uint8Array };

/**
 * A TensorProto with its values as raw_data (the compact form onnx writers use). A typed array of the right kind
 * is shared, not copied; plain arrays are converted. Throws when the count does not fit the shape.
 */
export function makeTensor(
  name: string,
  dataType: number,
  dims: readonly number[],
  data: TensorValues,
): onnx.TensorProto {
  const Ctor = ARRAY[dataType];
  const n = elementCount(dims);
  let raw: Uint8Array;
  if ('raw' in data) {
    raw = data.raw;
    const size = Ctor?.BYTES_PER_ELEMENT;
    if (size !== undefined && raw.length !== n * size) {
      throw new OnnxError(`tensor '${name}': ${raw.length} raw bytes for ${n} ${dataTypeName(dataType)} values`);
    }
  } else {
    if (!Ctor) throw new OnnxError(`tensor '${name}': give ${dataTypeName(dataType)} values as { raw: bytes }`);
    if (data.length !== n) {
      throw new OnnxError(`tensor '${name}': ${data.length} values for shape [${dims.join(', ')}]`);
    }
    const typed =
      ArrayBuffer.isView(data) && data.constructor === Ctor
        ? (data as TensorArray)
        : typedCopy(Ctor, data as ArrayLike<number | bigint>);
    raw = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  }
  return { ...emptyTensor(), dims: [...dims], dataType, name, rawData: raw };
}

/** A TensorProto with every repeated field empty and nothing set. */
export function emptyTensor(): onnx.TensorProto {
  return {
    dims: [],
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [] as Int64[],
    externalData: [],
    doubleData: [],
    uint64Data: [] as Int64[],
    metadataProps: [],
  };
}

/**
 * The ONNX messages as plain TypeScript types, field for field the official onnx.proto3 (camelCase names, as
 * protobufjs gives them). Repeated fields are always arrays in what `readModel` returns; a singular field is
 * absent when the file does not set it (proto3: absent and default read the same). int64 fields that are sizes or
 * versions are numbers (readModel refuses values past 2^53); other int64 values are numbers when they fit a double
 * exactly and bigints otherwise (e.g. INT64_MAX as a Slice end).
 */

/** An int64 value: a number where it is exact, else a bigint. */
export type Int64 = number | bigint;

/* eslint-disable @typescript-eslint/no-namespace -- the namespaces mirror onnx.proto3's package and nested
   messages (onnx.AttributeProto.AttributeType, ...) as protobufjs names them. */
export namespace onnx {
  export interface StringStringEntryProto {
    key?: string;
    value?: string;
  }

  export interface OperatorSetIdProto {
    domain?: string;
    version?: number;
  }

  export interface ModelProto {
    irVersion?: number;
    opsetImport: OperatorSetIdProto[];
    producerName?: string;
    producerVersion?: string;
    domain?: string;
    modelVersion?: number;
    docString?: string;
    graph?: GraphProto;
    metadataProps: StringStringEntryProto[];
    trainingInfo: TrainingInfoProto[];
    functions: FunctionProto[];
    configuration: DeviceConfigurationProto[];
  }

  export interface DeviceConfigurationProto {
    name?: string;
    numDevices?: number;
    device: string[];
  }

  export interface TrainingInfoProto {
    initialization?: GraphProto;
    algorithm?: GraphProto;
    initializationBinding: StringStringEntryProto[];
    updateBinding: StringStringEntryProto[];
  }

  export interface FunctionProto {
    name?: string;
    input: string[];
    output: string[];
    attribute: string[];
    attributeProto: AttributeProto[];
    node: NodeProto[];
    docString?: string;
    opsetImport: OperatorSetIdProto[];
    domain?: string;
    overload?: string;
    valueInfo: ValueInfoProto[];
    metadataProps: StringStringEntryProto[];
  }

  export interface GraphProto {
    node: NodeProto[];
    name?: string;
    initializer: TensorProto[];
    sparseInitializer: SparseTensorProto[];
    docString?: string;
    input: ValueInfoProto[];
    output: ValueInfoProto[];
    valueInfo: ValueInfoProto[];
    quantizationAnnotation: TensorAnnotation[];
    metadataProps: StringStringEntryProto[];
  }

  export interface TensorAnnotation {
    tensorName?: string;
    quantParameterTensorNames: StringStringEntryProto[];
  }

  export interface NodeProto {
    input: string[];
    output: string[];
    name?: string;
    opType?: string;
    domain?: string;
    overload?: string;
    attribute: AttributeProto[];
    docString?: string;
    metadataProps: StringStringEntryProto[];
    /** Sharding specs (IR 11+); kept as read, not interpreted here. */
    deviceConfigurations: unknown[];
  }

  export interface AttributeProto {
    name?: string;
    refAttrName?: string;
    docString?: string;
    type?: AttributeProto.AttributeType;
    f?: number;
    i?: Int64;
    /** UTF-8 bytes. */
    s?: Uint8Array;
    t?: TensorProto;
    g?: GraphProto;
    sparseTensor?: SparseTensorProto;
    tp?: TypeProto;
    floats: number[];
    ints: Int64[];
    strings: Uint8Array[];
    tensors: TensorProto[];
    graphs: GraphProto[];
    sparseTensors: SparseTensorProto[];
    typeProtos: TypeProto[];
  }

  export namespace AttributeProto {
    export const AttributeType = {
      UNDEFINED: 0,
      FLOAT: 1,
      INT: 2,
      STRING: 3,
      TENSOR: 4,
      GRAPH: 5,
      FLOATS: 6,
      INTS: 7,
      STRINGS: 8,
      TENSORS: 9,
      GRAPHS: 10,
      SPARSE_TENSOR: 11,
      SPARSE_TENSORS: 12,
      TYPE_PROTO: 13,
      TYPE_PROTOS: 14,
    } as const;
    export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];
  }

  export interface ValueInfoProto {
    name?: string;
    type?: TypeProto;
    docString?: string;
    metadataProps: StringStringEntryProto[];
  }

  export interface TensorProto {
    dims: number[];
    dataType?: number;
    segment?: { begin?: number; end?: number };
    floatData: number[];
    int32Data: number[];
    stringData: Uint8Array[];
    int64Data: Int64[];
    name?: string;
    docString?: string;
    /** Little-endian element bytes, the usual storage. */
    rawData?: Uint8Array;
    externalData: StringStringEntryProto[];
    dataLocation?: TensorProto.DataLocation;
    doubleData: number[];
    uint64Data: Int64[];
    metadataProps: StringStringEntryProto[];
  }

  export namespace TensorProto {
    export const DataType = {
      UNDEFINED: 0,
      FLOAT: 1,
      UINT8: 2,
      INT8: 3,
      UINT16: 4,
      INT16: 5,
      INT32: 6,
      INT64: 7,
      STRING: 8,
      BOOL: 9,
      FLOAT16: 10,
      DOUBLE: 11,
      UINT32: 12,
      UINT64: 13,
      COMPLEX64: 14,
      COMPLEX128: 15,
      BFLOAT16: 16,
      FLOAT8E4M3FN: 17,
      FLOAT8E4M3FNUZ: 18,
      FLOAT8E5M2: 19,
      FLOAT8E5M2FNUZ: 20,
      UINT4: 21,
      INT4: 22,
      FLOAT4E2M1: 23,
      FLOAT8E8M0: 24,
      UINT2: 25,
      INT2: 26,
    } as const;
    export type DataType = (typeof DataType)[keyof typeof DataType];
    export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
    export type DataLocation = (typeof DataLocation)[keyof typeof DataLocation];
  }

  export interface SparseTensorProto {
    values?: TensorProto;
    indices?: TensorProto;
    dims: number[];
  }

  export interface TensorShapeProto {
    dim: TensorShapeProto.Dimension[];
  }

  export namespace TensorShapeProto {
    /** One of dimValue (a fixed size) or dimParam (a named, dynamic size); neither: unknown. */
    export interface Dimension {
      dimValue?: number;
      dimParam?: string;
      denotation?: string;
    }
  }

  export interface TypeProto {
    tensorType?: TypeProto.Tensor;
    sequenceType?: { elemType?: TypeProto };
    mapType?: { keyType?: number; valueType?: TypeProto };
    optionalType?: { elemType?: TypeProto };
    sparseTensorType?: TypeProto.Tensor;
    opaqueType?: { domain?: string; name?: string };
    denotation?: string;
  }

  export namespace TypeProto {
    export interface Tensor {
      elemType?: number;
      shape?: TensorShapeProto;
    }
  }
}

/** Shorthands for the enums, the way onnx's Python package spells them (`TensorProto.FLOAT`). */
export const DataType = onnx.TensorProto.DataType;
export const AttributeType = onnx.AttributeProto.AttributeType;

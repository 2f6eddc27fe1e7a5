/** The contract of one op handler: output types from input types (shape inference) and its arithmetic cost. */
import type { Dim } from '../build.js';
import type { onnx } from '../types.js';

/** A tensor's element type (TensorProto.DataType) and dims. */
export interface ValueType {
  elemType: number;
  dims: Dim[];
}

export interface OpContext {
  node: onnx.NodeProto;
  /** The default-domain opset the model imports (attributes moved to inputs at some opsets). */
  opset: number;
  /** Input types by position; undefined for a missing optional input or an unknown type. */
  inputs: (ValueType | undefined)[];
  /** An input's values when it is a constant (initializer or Constant node), as numbers. */
  constant(index: number): number[] | undefined;
}

export interface OpRule {
  /** Op types this rule handles (default domain). */
  ops: readonly string[];
  /** Output types in output order; undefined where it cannot tell. Called only when input 0's type is known. */
  infer(c: OpContext): (ValueType | undefined)[];
  /**
   * Floating-point operations with every dim known (a multiply-add counts 2). Absent: one per output element.
   * Return 0 for ops that only move data.
   */
  flops?(c: OpContext, outputs: ValueType[]): number;
}

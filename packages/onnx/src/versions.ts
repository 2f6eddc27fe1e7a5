/**
 * The IR version each opset needs: onnx/helper.py's VERSION_TABLE (onnx 1.23.0), reduced as its
 * _create_op_set_id_version_map does, to the IR version of the first release that shipped the opset.
 */
import { OnnxError } from './errors.js';

/** [ai.onnx opset, IR version], from the table's (release, IR, ai.onnx, ...) rows. */
const FIRST_IR: readonly [number, number][] = [
  [1, 3],
  [5, 3],
  [6, 3],
  [7, 3],
  [8, 3],
  [9, 4],
  [10, 5],
  [11, 6],
  [12, 7],
  [13, 7],
  [14, 7],
  [15, 8],
  [16, 8],
  [17, 8],
  [18, 8],
  [19, 9],
  [20, 9],
  [21, 10],
  [22, 10],
  [23, 11],
  [24, 12],
  [25, 13],
  [26, 13],
  [27, 13],
  [28, 13],
];
const IR_BY_OPSET = new Map(FIRST_IR);

/** The lowest IR version that a model importing the default domain at `opset` must declare. */
export function irVersionForOpset(opset: number): number {
  const ir = IR_BY_OPSET.get(opset);
  if (ir === undefined) {
    throw new OnnxError(
      `opset ${opset} is not in onnx's version table (known: ${FIRST_IR[0][0]}, 5-${FIRST_IR[FIRST_IR.length - 1][0]})`,
    );
  }
  return ir;
}

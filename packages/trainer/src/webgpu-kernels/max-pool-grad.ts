/**
 * MaxPoolGrad on webgpu with the cpu backend's (and TensorFlow's) tie rule: the gradient of a window goes to its
 * FIRST maximum in row-major order. tfjs-backend-webgpu 4.22 picks the last one (`value >= max`), so after a ReLU,
 * where all-zero windows are common, its gradients differ from the cpu backend's and from Keras's.
 *
 * One pass, no positions buffer: each dx element visits the output windows that contain it, finds each window's
 * first maximum, and sums dy where that maximum is this element. Dilated pools keep the original kernel.
 */
import type * as tfType from '@tensorflow/tfjs';
import type { WebgpuKernel, WebgpuBackendLike, WebgpuProgram } from './types.js';

function program(outShape: number[]): WebgpuProgram {
  const size = outShape.reduce((a, b) => a * b, 1);
  const workgroupSize: [number, number, number] = [64, 1, 1];
  return {
    outputShape: outShape,
    shaderKey: 'semembedMaxPoolGradFirstMax',
    variableNames: ['dy', 'x'],
    uniforms: 'strides : vec2<i32>, pads : vec2<i32>, filterDims : vec2<i32>, outDims : vec2<i32>,',
    workgroupSize,
    size: true,
    dispatchLayout: { x: outShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / workgroupSize[0]), 1, 1],
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          let batch = coords[0];
          let xR = coords[1];
          let xC = coords[2];
          let d = coords[3];
          let inH = uniforms.xShape[1];
          let inW = uniforms.xShape[2];
          // The output rows/columns whose windows contain (xR, xC); negatives clamp to 0, so truncation is fine.
          let rTop = xR + uniforms.pads.x;
          let cTop = xC + uniforms.pads.y;
          let yR0 = max(0, (rTop - uniforms.filterDims.x + uniforms.strides.x) / uniforms.strides.x);
          let yR1 = min(uniforms.outDims.x - 1, rTop / uniforms.strides.x);
          let yC0 = max(0, (cTop - uniforms.filterDims.y + uniforms.strides.y) / uniforms.strides.y);
          let yC1 = min(uniforms.outDims.y - 1, cTop / uniforms.strides.y);
          var acc = 0.0;
          for (var yR = yR0; yR <= yR1; yR++) {
            for (var yC = yC0; yC <= yC1; yC++) {
              let r0 = yR * uniforms.strides.x - uniforms.pads.x;
              let c0 = yC * uniforms.strides.y - uniforms.pads.y;
              var found = false;
              var best = 0.0;
              var bestR = -1;
              var bestC = -1;
              for (var wR = 0; wR < uniforms.filterDims.x; wR++) {
                let r = r0 + wR;
                if (r < 0 || r >= inH) { continue; }
                for (var wC = 0; wC < uniforms.filterDims.y; wC++) {
                  let c = c0 + wC;
                  if (c < 0 || c >= inW) { continue; }
                  let v = getX(batch, r, c, d);
                  if (!found || v > best) {
                    found = true;
                    best = v;
                    bestR = r;
                    bestC = c;
                  }
                }
              }
              if (bestR == xR && bestC == xC) {
                acc += getDy(batch, yR, yC, d);
              }
            }
          }
          setOutputAtIndex(index, acc);
        }
      }
    `,
  };
}

export const maxPoolGrad: WebgpuKernel = {
  kernelName: 'MaxPoolGrad',
  make:
    (tf, original) =>
    ({ inputs, backend, attrs }) => {
      const { dy, input } = inputs as { dy: tfType.TensorInfo; input: tfType.TensorInfo };
      const a = attrs as unknown as {
        filterSize: number | [number, number];
        strides: number | [number, number];
        pad: 'valid' | 'same' | number;
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
      };
      const info = tf.backend_util.computePool2DInfo(
        input.shape as [number, number, number, number],
        a.filterSize,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
      );
      if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.dataFormat !== 'channelsLast') {
        return original({ inputs, backend, attrs });
      }
      const uniforms = [
        { type: 'int32', data: [info.strideHeight, info.strideWidth] },
        { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
        { type: 'int32', data: [info.filterHeight, info.filterWidth] },
        { type: 'int32', data: [info.outHeight, info.outWidth] },
      ];
      return (backend as unknown as WebgpuBackendLike).runWebGPUProgram(
        program([...input.shape]),
        [dy, input],
        'float32',
        uniforms,
      );
    },
};

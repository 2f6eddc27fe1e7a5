import type * as tfType from '@tensorflow/tfjs';

/** The parts of tfjs-backend-webgpu's program contract our kernels use (WebGPUProgram in its source). */
export interface WebgpuProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  uniforms?: string;
  workgroupSize: [number, number, number];
  size?: boolean;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  getUserCode(): string;
}

export interface WebgpuBackendLike {
  runWebGPUProgram(
    program: WebgpuProgram,
    inputs: tfType.TensorInfo[],
    outputDtype: tfType.DataType,
    uniforms?: Array<{ type: string; data: number[] }>,
  ): tfType.TensorInfo;
}

/** A kernel we register on webgpu in place of tfjs's: `make` gets the original, to fall back to. */
export interface WebgpuKernel {
  kernelName: string;
  make(tf: typeof tfType, original: tfType.KernelFunc): tfType.KernelFunc;
}

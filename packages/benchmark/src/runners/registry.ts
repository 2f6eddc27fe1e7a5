// Every runtime the benchmark knows, in table order. A new runtime is one file in this folder plus one line here.
import type { RunnerFactory } from '../types.js';
import { ortNodeCpu1, ortNodeCpuAll, ortNodeCuda, ortNodeWebgpu } from './ort-node.js';
import { ortWebNodeWasm } from './ort-web-node.js';
import { browserWasm1, browserWasmN, browserWebgpu } from './browser.js';
import { tfjsCpu, tfjsTensorflow, tfjsTensorflowGpu, tfjsWasm, tfjsWebgpu } from './tfjs.js';
import { server } from './server.js';

export const RUNNERS: Record<string, RunnerFactory> = {
  'ort-node-cpu': ortNodeCpuAll,
  'ort-node-cpu-1': ortNodeCpu1,
  'ort-node-webgpu': ortNodeWebgpu,
  'ort-node-cuda': ortNodeCuda,
  'ort-web-node-wasm': ortWebNodeWasm,
  'chromium-wasm-1': browserWasm1,
  'chromium-wasm': browserWasmN,
  'chromium-webgpu': browserWebgpu,
  'tfjs-wasm': tfjsWasm,
  'tfjs-cpu': tfjsCpu,
  'tfjs-webgpu': tfjsWebgpu,
  'tfjs-tensorflow': tfjsTensorflow,
  'tfjs-tensorflow-gpu': tfjsTensorflowGpu,
  server,
};

/** The reference runtime for the accuracy columns (ORT CPU fp32). */
export const REFERENCE_RUNNER = 'ort-node-cpu';

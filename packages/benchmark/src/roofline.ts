// Roofline: the model's FLOPs and bytes per sample from the ONNX graph (@semembed/onnx's modelCost), the
// machine's measured peak (a short sgemm through the trainer's OpenBLAS addon, and a memory-copy bandwidth
// probe), so each runtime's achieved GFLOP/s can be put against what this machine can do.
import { readFileSync } from 'node:fs';
import { modelCost as onnxCost, readModel } from '@semembed/onnx';
import { loadNativeConv } from '@semembed/trainer';
import { firstLine } from './errors.js';

export interface ModelCost {
  flopsPerSample?: number;
  bytesPerSample?: number;
  /** Why there are no figures, or why they are partial. */
  reason?: string;
}

export interface MachinePeak {
  gflops: number;
  /** How the sgemm ran (OpenBLAS on N threads, or the JS fallback). */
  sgemm: string;
  bandwidthGBs: number;
}

export function modelCost(onnxPath: string): ModelCost {
  try {
    // Batch dimensions (named or -1) count as 1: figures per sample.
    const cost = onnxCost(readModel(readFileSync(onnxPath), onnxPath));
    if (!cost.flops) return { reason: 'the ONNX graph has no FLOPs that @semembed/onnx can count' };
    const partial = cost.unknownOps.length
      ? ` (ops without a FLOP rule, counted as 0: ${cost.unknownOps.join(', ')})`
      : '';
    return { flopsPerSample: cost.flops, bytesPerSample: cost.bytes, ...(partial && { reason: `partial${partial}` }) };
  } catch (err) {
    return { reason: `modelCost(): ${firstLine(err)}` };
  }
}

/** y = x·w as a 1×1 convolution (one sgemm of M×K by K×N). */
function sgemmGflops(threads: number): { gflops: number; how: string } {
  const M = 1024,
    K = 512,
    N = 512;
  const x = new Float32Array(M * K).map((_, i) => Math.sin(i));
  const w = new Float32Array(K * N).map((_, i) => Math.cos(i));
  const y = new Float32Array(M * N);
  const flops = 2 * M * K * N;
  const { native } = loadNativeConv();
  let best = Infinity;
  if (native) {
    // geometry: n h w ci co kh kw sh sw pt pl oh ow
    const g = Float32Array.from([1, 32, 32, K, N, 1, 1, 1, 1, 0, 0, 32, 32]);
    native.setThreads(threads);
    try {
      for (let r = 0; r < 6; r++) {
        const t0 = performance.now();
        native.conv(0, x, w, y, g);
        best = Math.min(best, performance.now() - t0);
      }
    } finally {
      native.setThreads(1);
    }
    return {
      gflops: flops / (best / 1000) / 1e9,
      how: `OpenBLAS sgemm ${M}x${K}x${N}, ${threads} threads (best of 6)`,
    };
  }
  // Without the addon: a cache-blocked JS loop; far below the hardware peak, said so in the report.
  const m = 256;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < m; i++)
      for (let k = 0; k < K; k++) {
        const a = x[i * K + k];
        const row = k * N;
        const o = i * N;
        for (let j = 0; j < N; j++) y[o + j] += a * w[row + j];
      }
    best = Math.min(best, performance.now() - t0);
  }
  return {
    gflops: (2 * m * K * N) / (best / 1000) / 1e9,
    how: `JS loop ${m}x${K}x${N}, 1 thread (the OpenBLAS addon is not built: far below the hardware peak)`,
  };
}

/** Copy bandwidth (read + write) over 64 MiB arrays, best of 5. */
function bandwidthGBs(): number {
  const src = new Float64Array(8 << 20).fill(1.5);
  const dst = new Float64Array(8 << 20);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    dst.set(src);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * src.byteLength) / (best / 1000) / 1e9;
}

export function measurePeak(cores: number): MachinePeak {
  // On a loaded machine all-core BLAS can lose to one thread; the better of the two is the reachable peak.
  const all = sgemmGflops(cores);
  const one = cores > 1 ? sgemmGflops(1) : all;
  const s = one.gflops > all.gflops ? one : all;
  return { gflops: s.gflops, sgemm: s.how, bandwidthGBs: bandwidthGBs() };
}

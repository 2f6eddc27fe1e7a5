// Loads faiss-node (built against the system FAISS by scripts/build-faiss-node.sh, with its typed-array methods).
import { createRequire } from 'node:module';

export interface FaissIndex {
  ntotal(): number;
  getDimension(): number;
  isTrained(): boolean;
  addFloat32(x: Float32Array): void;
  trainFloat32(x: Float32Array): void;
  searchFloat32(xq: Float32Array, k: number): { distances: Float32Array; labels: Int32Array };
  /** With rowsPerCall: single-threaded BLAS calls of that many rows from xq's first row (blas-calls.ts). */
  distanceRows(xq: Float32Array, out?: Float32Array, rowsPerCall?: number): Float32Array;
  setParameter(name: string, value: number): void;
  metricType(): number;
  write(path: string): void;
  toBuffer(): Buffer;
}

export interface FaissModule {
  Index: { fromFactory(d: number, descriptor: string, metric?: number): FaissIndex; read(path: string): FaissIndex };
  IndexFlatL2: new (d: number) => FaissIndex;
  IndexFlatIP: new (d: number) => FaissIndex;
}

export const METRIC_INNER_PRODUCT = 0;
export const METRIC_L2 = 1;

let cached: { module?: FaissModule; error?: string } | undefined;

/** faiss-node if it loads and has the typed-array methods this package patches in; else why not. */
export function loadFaiss(): { module?: FaissModule; error?: string } {
  if (cached) return cached;
  try {
    const mod = createRequire(import.meta.url)('faiss-node') as FaissModule;
    const probe = new mod.IndexFlatL2(1);
    if (typeof (probe as Partial<FaissIndex>).distanceRows !== 'function')
      throw new Error('faiss-node lacks the typed-array methods (run `bash scripts/build-faiss-node.sh`)');
    cached = { module: mod };
  } catch (err) {
    cached = { error: (err as Error).message.split('\n')[0] };
  }
  return cached;
}

export function faissAvailable(): boolean {
  return loadFaiss().module !== undefined;
}

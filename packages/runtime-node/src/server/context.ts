import { TimeoutError, type DynamicBatcher } from '../batcher.js';
import { RuntimeNodeError } from '../errors.js';
import type { Gallery } from '../gallery.js';
import type { Model, OutputTensor } from '../model.js';

export interface Loaded {
  model: Model;
  batcher: DynamicBatcher;
  gallery?: Gallery;
}

export interface Limits {
  bodyLimit: number;
  maxImageBytes: number;
  maxImages: number;
  maxInferBatch: number;
  timeoutMs: number;
  maxImagePixels?: number;
}

/** What the route plugins share: the loaded models, the limits and the shutdown state. */
export interface ServerContext {
  loaded: Map<string, Loaded>;
  limits: Limits;
  isClosing(): boolean;
  /** The named model (default: the first); 404 for an unknown name. */
  getModel(name: string | undefined): Loaded;
  /** Runs n preprocessed samples through the model's batcher with the request deadline. */
  infer(l: Loaded, input: Float32Array, n: number): Promise<Record<string, OutputTensor>>;
}

export function createContext(loaded: Map<string, Loaded>, limits: Limits, isClosing: () => boolean): ServerContext {
  const defaultModel = loaded.keys().next().value as string;
  return {
    loaded,
    limits,
    isClosing,
    getModel(name) {
      const key = name ?? defaultModel;
      const l = loaded.get(key);
      if (!l) throw new RuntimeNodeError(`unknown model "${key}" (served: ${[...loaded.keys()].join(', ')})`, 404);
      return l;
    },
    infer(l, input, n) {
      const signal = AbortSignal.timeout(limits.timeoutMs);
      return l.batcher.submit(input, n, signal).catch((err) => {
        if (signal.aborted && err === signal.reason) {
          throw new TimeoutError(`inference for ${l.model.name} did not finish within ${limits.timeoutMs} ms`);
        }
        throw err;
      });
    },
  };
}

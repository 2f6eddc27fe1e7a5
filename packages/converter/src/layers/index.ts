import { activationLayers } from './activation.js';
import type { LayerFamily, LayerHandler } from './context.js';
import { convolutionLayers } from './convolution.js';
import { coreLayers } from './core.js';
import { lambdaLayers } from './lambda.js';
import { mergeLayers } from './merge.js';
import { normalisationLayers } from './normalisation.js';
import { poolingLayers } from './pooling.js';
import { recurrentLayers } from './recurrent.js';
import { reshapeLayers } from './reshape.js';

export { LayerCtx, type LayerHandler, type LayerFamily } from './context.js';

/** Every layer family; adding a layer is one handler in its family file (a new family: one line here). */
const FAMILIES: LayerFamily[] = [
  coreLayers,
  convolutionLayers,
  poolingLayers,
  normalisationLayers,
  activationLayers,
  mergeLayers,
  reshapeLayers,
  recurrentLayers,
  lambdaLayers,
];

const registry = new Map<string, LayerHandler>();
for (const family of FAMILIES) {
  for (const [cls, handler] of Object.entries(family)) {
    if (registry.has(cls)) throw new Error(`layer class ${cls} is registered twice`);
    registry.set(cls, handler);
  }
}

export function layerHandler(className: string): LayerHandler | undefined {
  return registry.get(className);
}

export function supportedLayers(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Replaces one class's handler until the returned function is called. For tests only (e.g. a deliberately
 * wrong mapping that --verify must catch); replacing an unknown class throws, so typos cannot pass silently.
 */
export function overrideLayerHandler(className: string, handler: LayerHandler): () => void {
  const previous = registry.get(className);
  if (!previous) throw new Error(`overrideLayerHandler: no handler for ${className}`);
  registry.set(className, handler);
  return () => registry.set(className, previous);
}

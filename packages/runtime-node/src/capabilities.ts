import { TensorShapeError } from './errors.js';
import type { Model } from './model.js';

/**
 * A plain classifier (what `convert` makes of a model without an embedding layer) has no embedding output:
 * embedding and search requests are the client's error (400) that names the outputs it does have.
 */
export function requireEmbedding(model: Model, what: string): void {
  if (model.embeddingOutput) return;
  const outs = model.sidecar.outputs.map((o) => `${o.name} (${o.kind})`).join(', ');
  throw new TensorShapeError(`model ${model.name} has no embedding output (its outputs: ${outs}), so it cannot ${what}`);
}

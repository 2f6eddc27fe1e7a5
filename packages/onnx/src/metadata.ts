/** ModelProto.metadata_props as a plain record. */
import type { onnx } from './types.js';

/** All metadata_props (a later duplicate key wins, as onnxruntime's ModelMetadata reads them). */
export function getMetadata(model: onnx.ModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of model.metadataProps) out[e.key ?? ''] = e.value ?? '';
  return out;
}

/**
 * A copy of the model whose metadata_props are `entries` merged over the existing ones (existing keys keep their
 * place; new keys are appended in the record's order; an `undefined` value removes the key).
 */
export function setMetadata(model: onnx.ModelProto, entries: Record<string, string | undefined>): onnx.ModelProto {
  const props = model.metadataProps.map((e) => ({ ...e }));
  for (const [key, value] of Object.entries(entries)) {
    const i = props.findIndex((e) => e.key === key);
    if (value === undefined) {
      if (i >= 0) props.splice(i, 1);
    } else if (i >= 0) props[i].value = value;
    else props.push({ key, value });
  }
  return { ...model, metadataProps: props };
}

/**
 * The sidecar (`model.json`, written by @semembed/converter beside `model.onnx`): its TypeScript type and its
 * JSON Schema, kept side by side so a field is added to both at once. `format` names the kind of file and
 * stays 'semembed-onnx-sidecar/1'; `version` counts revisions of the fields (see migrate.ts).
 */

export const SIDECAR_FORMAT = 'semembed-onnx-sidecar/1';
/** The version this package writes and reads; older sidecars are migrated on read. */
export const SIDECAR_VERSION = 2;

export type Layout = 'NHWC' | 'NCHW';
export type OutputKind = 'embedding' | 'probabilities' | 'logits' | 'features' | 'other';
/**
 * Channel order the network expects. 'bgr' (the reference's `-caffe` models): `mean` and `std` are listed
 * in the decoded image's R, G, B order; each channel is normalised, then the three are reversed, so the
 * model's channel 0 is blue. Never silently treated as 'rgb'.
 */
export type ColorSpace = 'rgb' | 'gray' | 'bgr';

export interface SidecarOutput {
  name: string;
  kind: OutputKind;
  /** Size of the last axis; null (or absent) when the model leaves it open. */
  dim?: number | null;
  /** The model already L2-normalises this output (the `l2norm` layer). */
  normalized?: boolean;
}

export interface SidecarClass {
  /** Position in the model's class outputs / the class-embedding rows. */
  index: number;
  id: number | string;
  name?: string;
  /** Taxonomy names from the root to the leaf. */
  path?: string[];
}

export interface Preprocessing {
  /** [height, width] the image is scaled to cover, then centre-cropped to. */
  resize: [number, number];
  crop: 'center';
  colorSpace: ColorSpace;
  /** One value for all channels or one per channel, in R, G, B order; x = (pixel - mean[c]) / std[c]. */
  mean: number[];
  std: number[];
}

export interface SidecarInput {
  name: string;
  layout: Layout;
  /** Batch first; null for an open dimension. */
  shape: (number | null)[];
  dtype: 'float32';
  /** Image channels (1 or 3); 0 when the model leaves the channel axis open. */
  channels: number;
}

export interface Sidecar {
  format: typeof SIDECAR_FORMAT;
  version: typeof SIDECAR_VERSION;
  /** The .onnx file name, relative to the sidecar. */
  model: string;
  /** Free-form facts about where the model came from (converter version, Keras version, onnx_sha256, ...). */
  source?: Record<string, unknown>;
  input: SidecarInput;
  /** Every input, for models with more than one (the first is `input`). */
  inputs?: { name: string; layout: string; shape: (number | null)[]; dtype: 'float32' }[];
  /** How an image becomes the input tensor; absent for models whose input is not an image. */
  preprocessing?: Preprocessing;
  outputs: SidecarOutput[];
  classes?: SidecarClass[];
  /** One row per class (the target embeddings), for nearest-class prediction. */
  classEmbedding?: number[][];
}

/** A sidecar the runtimes can feed images to: fixed image size, 1 or 3 channels, preprocessing present. */
export interface ImageSidecar extends Sidecar {
  input: SidecarInput & { channels: 1 | 3 };
  preprocessing: Preprocessing;
}

// `description` on an anyOf is what the validator's message says the value must be.
const dimension = {
  description: 'a positive integer or null',
  anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }],
};
const finite = { type: 'number' };
const numbers = { type: 'array', minItems: 1, items: finite };

/**
 * JSON Schema (draft-07) of the current version. Unknown top-level fields are allowed (a newer writer's additions);
 * inside `input`, `preprocessing`, `outputs` and `classes` an unknown field is refused, as it is most likely a typo.
 */
export const sidecarSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://semembed.dev/schemas/sidecar-2.json',
  title: 'semembed ONNX sidecar (model.json)',
  type: 'object',
  required: ['format', 'version', 'model', 'input', 'outputs'],
  properties: {
    format: { const: SIDECAR_FORMAT },
    version: { const: SIDECAR_VERSION },
    model: { type: 'string', minLength: 1 },
    source: { type: 'object' },
    input: {
      type: 'object',
      required: ['name', 'layout', 'shape', 'channels'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1 },
        layout: { enum: ['NHWC', 'NCHW'] },
        shape: { type: 'array', minItems: 1, items: dimension },
        dtype: { const: 'float32', default: 'float32' },
        channels: { type: 'integer', minimum: 0 },
      },
    },
    inputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'shape'],
        properties: {
          name: { type: 'string' },
          layout: { type: 'string' },
          shape: { type: 'array', items: dimension },
          dtype: { const: 'float32' },
        },
      },
    },
    preprocessing: {
      type: 'object',
      required: ['resize', 'colorSpace', 'mean', 'std'],
      additionalProperties: false,
      properties: {
        resize: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'integer', minimum: 1 } },
        crop: { const: 'center', default: 'center' },
        colorSpace: { enum: ['rgb', 'gray', 'bgr'] },
        mean: numbers,
        std: { ...numbers, items: { type: 'number', not: { const: 0 } } },
      },
    },
    outputs: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'kind'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1 },
          kind: { enum: ['embedding', 'probabilities', 'logits', 'features', 'other'] },
          dim: dimension,
          normalized: { type: 'boolean' },
        },
      },
    },
    classes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'id'],
        additionalProperties: false,
        properties: {
          index: { type: 'integer', minimum: 0 },
          id: { description: 'a number or a string', anyOf: [{ type: 'number' }, { type: 'string' }] },
          name: { type: 'string' },
          path: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    classEmbedding: { type: 'array', minItems: 1, items: numbers },
  },
} as const;

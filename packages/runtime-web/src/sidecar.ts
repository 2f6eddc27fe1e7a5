import { ModelLoadError } from './errors.js';

export type Layout = 'NHWC' | 'NCHW';
export type OutputKind = 'embedding' | 'probabilities' | 'logits' | 'features' | 'other';

export interface SidecarOutput {
  name: string;
  kind: OutputKind;
  dim?: number;
  normalized?: boolean;
}

export interface SidecarClass {
  index: number;
  id: number | string;
  name?: string;
  /** Taxonomy names from the root to the leaf. */
  path?: string[];
}

/** The JSON the converter writes next to model.onnx (format 'semembed-onnx-sidecar/1'); same contract as runtime-node. */
export interface Sidecar {
  format: 'semembed-onnx-sidecar/1';
  model: string;
  source?: Record<string, unknown>;
  input: { name: string; layout: Layout; shape: (number | null)[]; dtype: 'float32'; channels: 1 | 3 };
  preprocessing: { resize: [number, number]; crop: 'center'; colorSpace: 'rgb' | 'gray'; mean: number[]; std: number[] };
  outputs: SidecarOutput[];
  classes?: SidecarClass[];
  classEmbedding?: number[][];
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function fail(source: string, what: string): never {
  throw new ModelLoadError(`${source}: ${what}`);
}

/**
 * Checks a parsed sidecar; every problem names the source (URL) and the field. The rules are those of
 * @semembed/runtime-node's validateSidecar (that package pulls in sharp and node:fs, so it cannot be imported here).
 */
export function validateSidecar(raw: unknown, source = 'sidecar'): Sidecar {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(source, 'not a JSON object');
  const s = raw as Partial<Sidecar> & Record<string, unknown>;
  if (s.format !== 'semembed-onnx-sidecar/1') fail(source, `format is ${JSON.stringify(s.format)}, expected "semembed-onnx-sidecar/1"`);
  if (typeof s.model !== 'string' || !s.model) fail(source, 'field "model" (the .onnx file name) is missing');
  const input = s.input;
  if (!input || typeof input.name !== 'string') fail(source, 'field "input.name" is missing');
  if (input.layout !== 'NHWC' && input.layout !== 'NCHW') fail(source, `input.layout must be NHWC or NCHW, got ${JSON.stringify(input.layout)}`);
  if (input.channels !== 1 && input.channels !== 3) fail(source, `input.channels must be 1 or 3, got ${JSON.stringify(input.channels)}`);
  if (input.dtype !== undefined && input.dtype !== 'float32') fail(source, `input.dtype ${JSON.stringify(input.dtype)} is not supported (float32 only)`);
  if (!Array.isArray(input.shape) || input.shape.length !== 4) fail(source, 'input.shape must have 4 entries (batch first)');
  const [, a, b, c] = input.shape;
  const [h, w, ch] = input.layout === 'NHWC' ? [a, b, c] : [b, c, a];
  if (!isNum(h) || !isNum(w)) fail(source, `input.shape ${JSON.stringify(input.shape)} needs fixed height and width`);
  if (ch !== input.channels) fail(source, `input.shape ${JSON.stringify(input.shape)} disagrees with input.channels ${input.channels}`);
  const pre = s.preprocessing;
  if (!pre) fail(source, 'field "preprocessing" is missing');
  if (!Array.isArray(pre.resize) || pre.resize.length !== 2 || !pre.resize.every(isNum)) fail(source, 'preprocessing.resize must be [height, width]');
  if (pre.resize[0] !== h || pre.resize[1] !== w) fail(source, `preprocessing.resize ${JSON.stringify(pre.resize)} differs from the input size [${h}, ${w}]`);
  if (pre.crop !== undefined && pre.crop !== 'center') fail(source, `preprocessing.crop ${JSON.stringify(pre.crop)} is not supported (center only)`);
  if (pre.colorSpace !== 'rgb' && pre.colorSpace !== 'gray') fail(source, `preprocessing.colorSpace must be rgb or gray, got ${JSON.stringify(pre.colorSpace)}`);
  if ((pre.colorSpace === 'gray') !== (input.channels === 1)) fail(source, `preprocessing.colorSpace ${pre.colorSpace} does not fit ${input.channels} input channel(s)`);
  for (const key of ['mean', 'std'] as const) {
    const v = pre[key];
    if (!Array.isArray(v) || !v.every(isNum) || (v.length !== 1 && v.length !== input.channels)) fail(source, `preprocessing.${key} must be 1 or ${input.channels} numbers`);
  }
  if (pre.std.some((x) => x === 0)) fail(source, 'preprocessing.std contains 0');
  if (!Array.isArray(s.outputs) || s.outputs.length === 0) fail(source, 'field "outputs" is missing or empty');
  for (const [i, o] of s.outputs.entries()) {
    if (!o || typeof o.name !== 'string') fail(source, `outputs[${i}].name is missing`);
    if (!['embedding', 'probabilities', 'logits', 'features', 'other'].includes(o.kind)) fail(source, `outputs[${i}].kind ${JSON.stringify(o.kind)} is unknown`);
  }
  if (s.classes !== undefined) {
    if (!Array.isArray(s.classes)) fail(source, 'classes must be an array');
    for (const [i, c] of s.classes.entries()) {
      if (!c || !isNum(c.index) || (typeof c.id !== 'number' && typeof c.id !== 'string')) fail(source, `classes[${i}] needs index and id`);
    }
  }
  if (s.classEmbedding !== undefined) {
    const ce = s.classEmbedding;
    if (!Array.isArray(ce) || ce.length === 0 || !ce.every((r) => Array.isArray(r) && r.length === ce[0].length && r.every(isNum))) {
      fail(source, 'classEmbedding must be a non-empty number[][] with rows of equal length');
    }
    const emb = s.outputs.find((o) => o.kind === 'embedding');
    if (emb?.dim !== undefined && ce[0].length !== emb.dim) fail(source, `classEmbedding rows have ${ce[0].length} values, the embedding output "${emb.name}" has ${emb.dim}`);
  }
  return s as Sidecar;
}

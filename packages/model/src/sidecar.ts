import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { SidecarError } from './errors.js';
import { migrateSidecar } from './migrate.js';
import { sidecarSchema, type ImageSidecar, type Sidecar } from './sidecar-schema.js';

let compiled: ValidateFunction | undefined;

/** Compiled once, on first use (ajv generates the checking code). */
function schemaValidator(): ValidateFunction {
  // useDefaults fills `crop: 'center'` and `dtype: 'float32'`, which version-1 writers could leave out.
  compiled ??= new Ajv({ allErrors: false, verbose: true, useDefaults: true, strict: true }).compile(sidecarSchema);
  return compiled;
}

/** '/preprocessing/mean/0' -> 'preprocessing.mean[0]'. */
function fieldName(pointer: string, child?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/** One line for ajv's first error: `<field>: <what is wrong> (got <value>)`. */
function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const field = fieldName(e.instancePath);
  const got = ` (got ${show(e.data)})`;
  switch (e.keyword) {
    case 'required':
      return `${fieldName(e.instancePath, String(p.missingProperty))}: is missing`;
    case 'additionalProperties':
      return `${fieldName(e.instancePath, String(p.additionalProperty))}: is not a known field`;
    case 'const':
      return `${field}: must be ${show(p.allowedValue)}${got}`;
    case 'enum':
      return `${field}: must be one of ${(p.allowedValues as unknown[]).map(show).join(', ')}${got}`;
    case 'type':
      return `${field || 'sidecar'}: must be ${String(p.type).replace(',', ' or ')}${got}`;
    case 'minItems':
      return `${field}: must have at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}${got}`;
    case 'maxItems':
      return `${field}: must have at most ${String(p.limit)} entries${got}`;
    case 'minLength':
      return `${field}: must not be empty`;
    case 'anyOf':
      return `${field}: must be ${String((e.parentSchema as { description?: string }).description)}${got}`;
    case 'not':
      return `${field}: must not be ${show(e.data)}`;
    default:
      return `${field}: ${e.message ?? e.keyword}${got}`;
  }
}

function fail(source: string, what: string): never {
  throw new SidecarError(`${source}: ${what}`);
}

/**
 * Checks a parsed sidecar (any version; older ones are migrated) against the schema and the rules that span
 * fields. Every problem is one SidecarError line naming the source and the field, e.g.
 * `model.json: preprocessing.mean: must have 1 or 3 entries (got [1,2])`.
 */
export function validateSidecar(raw: unknown, source = 'model.json'): Sidecar {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    fail(source, `not a JSON object (got ${show(raw)})`);
  }
  const s = migrateSidecar(raw, source) as Sidecar;
  const check = schemaValidator();
  if (!check(s)) {
    // An anyOf's own error says more than the first alternative's.
    const errors = check.errors!;
    fail(source, describe(errors.find((e) => e.keyword === 'anyOf') ?? errors[0]));
  }
  const ce = s.classEmbedding;
  if (ce) {
    const d = ce[0].length;
    const bad = ce.findIndex((r) => r.length !== d);
    if (bad >= 0) fail(source, `classEmbedding[${bad}]: has ${ce[bad].length} values, row 0 has ${d}`);
    const emb = s.outputs.find((o) => o.kind === 'embedding');
    if (emb && typeof emb.dim === 'number' && emb.dim !== d) {
      fail(source, `classEmbedding: rows have ${d} values, the embedding output "${emb.name}" has ${emb.dim}`);
    }
  }
  return s;
}

/** The height and width the input shape fixes (undefined where it leaves them open). */
export function inputSize(input: Sidecar['input']): {
  height: number | null;
  width: number | null;
  channels: number | null;
} {
  const [, a, b, c] = input.shape;
  const [h, w, ch] = input.layout === 'NHWC' ? [a, b, c] : [b, c, a];
  return { height: h ?? null, width: w ?? null, channels: ch ?? null };
}

/**
 * validateSidecar plus what the runtimes need to turn images into tensors: a 4-d input of fixed size with 1 or 3
 * channels, and a `preprocessing` block that agrees with it.
 */
export function validateImageSidecar(raw: unknown, source = 'model.json'): ImageSidecar {
  const s = validateSidecar(raw, source);
  const { input } = s;
  const shape = show(input.shape);
  if (input.channels !== 1 && input.channels !== 3) {
    fail(source, `input.channels: must be 1 or 3 (got ${input.channels})`);
  }
  if (input.shape.length !== 4) fail(source, `input.shape: must have 4 entries, batch first (got ${shape})`);
  const { height, width, channels } = inputSize(input);
  if (height === null || width === null) fail(source, `input.shape: needs a fixed height and width (got ${shape})`);
  if (channels !== input.channels) {
    fail(source, `input.shape: ${show(input.shape)} disagrees with input.channels ${input.channels}`);
  }
  const pre = s.preprocessing;
  if (!pre) fail(source, 'preprocessing: is missing (the runtimes need it to turn images into tensors)');
  if (pre.resize[0] !== height || pre.resize[1] !== width) {
    fail(source, `preprocessing.resize: ${show(pre.resize)} differs from the input size [${height}, ${width}]`);
  }
  const gray = pre.colorSpace === 'gray';
  if (gray !== (input.channels === 1)) {
    fail(source, `preprocessing.colorSpace: ${show(pre.colorSpace)} does not fit ${input.channels} input channel(s)`);
  }
  for (const key of ['mean', 'std'] as const) {
    const n = pre[key].length;
    if (n !== 1 && n !== input.channels) {
      const want = input.channels === 1 ? '1 entry' : `1 or ${input.channels} entries`;
      fail(source, `preprocessing.${key}: must have ${want} (got ${show(pre[key])})`);
    }
  }
  return s as ImageSidecar;
}

/** Parses sidecar text (a file's or a response's); bad JSON is one SidecarError line. Validate the result. */
export function parseSidecarJson(text: string, source = 'model.json'): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(source, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/**
 * What a writer (the converter) checks before writing: the image rules wherever the runtimes could feed the model
 * images (a 4-d input of fixed size with 1 or 3 channels and a `preprocessing` block), the schema elsewhere.
 */
export function validateWrittenSidecar(raw: unknown, source = 'model.json'): Sidecar {
  const s = validateSidecar(raw, source);
  const { height, width } = s.input.shape.length === 4 ? inputSize(s.input) : { height: null, width: null };
  const image =
    s.preprocessing && height !== null && width !== null && (s.input.channels === 1 || s.input.channels === 3);
  return image ? validateImageSidecar(s, source) : s;
}

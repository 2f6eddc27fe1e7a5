import { RuntimeNodeError, TensorShapeError } from '../errors.js';
import type { Model, OutputTensor } from '../model.js';

/**
 * Open Inference Protocol (KServe v2) request and response bodies, JSON and the binary tensor extension
 * (`binary_tensor_data`, as Triton's): a JSON header of `Inference-Header-Content-Length` bytes, then the raw
 * little-endian tensors; a tensor says `parameters: { binary_data_size }` instead of `data`.
 */

const V2_DATATYPES = new Set(['FP32']);

export interface InferRequest {
  input: Float32Array;
  n: number;
  outputs: string[];
  /** Outputs to return as binary data (asked for with `parameters.binary_data` or `binary_data_output`). */
  binary: string[];
  id?: string;
}

interface RequestedOutput {
  name?: unknown;
  parameters?: { binary_data?: unknown };
}

/** Parses a binary-extension infer request; the values come from the bytes after the JSON header. */
export function parseBinaryInferRequest(
  body: Buffer,
  headerLength: unknown,
  model: Model,
  maxBatch: number,
): InferRequest {
  const len = Number(headerLength);
  if (headerLength === undefined || !Number.isInteger(len) || len < 2 || len > body.length) {
    throw new TensorShapeError(
      `binary infer request needs an Inference-Header-Content-Length header between 2 and the body size ${body.length}, ` +
        `got ${JSON.stringify(headerLength ?? null)}`,
    );
  }
  let header: { inputs?: { parameters?: { binary_data_size?: unknown }; data?: unknown }[] };
  try {
    header = JSON.parse(body.subarray(0, len).toString('utf8'));
  } catch (err) {
    throw new TensorShapeError(`the first ${len} bytes are not the JSON inference header (${(err as Error).message})`);
  }
  const t = Array.isArray(header?.inputs) && header.inputs.length === 1 ? header.inputs[0] : undefined;
  const size = t?.parameters?.binary_data_size;
  if (!t || !Number.isInteger(size))
    throw new TensorShapeError('binary infer request: the input needs parameters.binary_data_size');
  if (size !== body.length - len)
    throw new TensorShapeError(
      `binary_data_size ${size} does not match the ${body.length - len} bytes after the header`,
    );
  if ((size as number) % 4 !== 0) throw new TensorShapeError(`binary_data_size ${size} is not a multiple of 4 (FP32)`);
  // Validate name / shape / datatype with the JSON path; the values come from the binary part.
  const count = (size as number) / 4;
  const validated = parseInferRequest({ ...header, inputs: [{ ...t, data: [] }] }, model, maxBatch, count);
  const input = new Float32Array(count);
  const bytes = body.subarray(len);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const v = view.getFloat32(i * 4, true);
    if (!Number.isFinite(v)) throw new TensorShapeError(`binary data[${i}] is ${v}, not a finite number`);
    input[i] = v;
  }
  return { ...validated, input };
}

/** Checks an Open Inference Protocol infer request against the model; every failure says what was wrong. */
export function parseInferRequest(body: unknown, model: Model, maxBatch: number, binaryCount?: number): InferRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new TensorShapeError('infer request must be a JSON object with "inputs"');
  const b = body as {
    id?: unknown;
    inputs?: unknown;
    outputs?: unknown;
    parameters?: { binary_data_output?: unknown };
  };
  if (!Array.isArray(b.inputs) || b.inputs.length !== 1)
    throw new TensorShapeError(`"inputs" must hold exactly one tensor (the model's input "${model.inputName}")`);
  const t = b.inputs[0] as { name?: unknown; shape?: unknown; datatype?: unknown; data?: unknown };
  if (t.name !== model.inputName)
    throw new TensorShapeError(`input is named ${JSON.stringify(t.name)}, the model's input is "${model.inputName}"`);
  if (typeof t.datatype !== 'string' || !V2_DATATYPES.has(t.datatype))
    throw new TensorShapeError(`datatype ${JSON.stringify(t.datatype)} is not supported (FP32 only)`);
  const want = `[-1, ${model.sampleShape.join(', ')}]`;
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TensorShapeError(`shape ${JSON.stringify(t.shape)} is not a list of positive integers; expected ${want}`);
  }
  const shape = t.shape as number[];
  if (shape.length !== model.sampleShape.length + 1 || shape.slice(1).some((d, i) => d !== model.sampleShape[i])) {
    throw new TensorShapeError(`shape [${shape.join(', ')}] does not fit the model's input ${want}`);
  }
  const n = shape[0];
  if (n > maxBatch) throw new RuntimeNodeError(`batch of ${n} is more than the limit of ${maxBatch}`, 413);
  const { outputs, binary } = inferOutputs(b.outputs, b.parameters?.binary_data_output === true, model);
  const id = typeof b.id === 'string' ? { id: b.id } : {};
  if (binaryCount !== undefined) {
    if (binaryCount !== n * model.sampleSize) {
      throw new TensorShapeError(
        `binary data has ${binaryCount} values, shape [${shape.join(', ')}] needs ${n * model.sampleSize}`,
      );
    }
    return { input: new Float32Array(0), n, outputs, binary, ...id };
  }
  const flat = Array.isArray(t.data) ? (t.data as unknown[]).flat(Infinity) : undefined;
  if (!flat) throw new TensorShapeError('"data" must be an array of numbers');
  if (flat.length !== n * model.sampleSize)
    throw new TensorShapeError(
      `data has ${flat.length} values, shape [${shape.join(', ')}] needs ${n * model.sampleSize}`,
    );
  const input = new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new TensorShapeError(`data[${i}] is ${JSON.stringify(v)}, not a finite number`);
    input[i] = v;
  }
  return { input, n, outputs, binary, ...id };
}

function inferOutputs(requested: unknown, allBinary: boolean, model: Model): { outputs: string[]; binary: string[] } {
  if (requested === undefined) {
    const outputs = model.session.outputNames as string[];
    return { outputs, binary: allBinary ? outputs : [] };
  }
  if (!Array.isArray(requested)) throw new TensorShapeError('"outputs" must be a list of {name}');
  const binary: string[] = [];
  const outputs = requested.map((o: RequestedOutput, i) => {
    const name = o?.name;
    if (typeof name !== 'string' || !model.session.outputNames.includes(name)) {
      throw new TensorShapeError(
        `outputs[${i}]: model has no output ${JSON.stringify(name)} (it has ${model.session.outputNames.join(', ')})`,
      );
    }
    const flag = o.parameters?.binary_data;
    if (flag !== undefined && typeof flag !== 'boolean')
      throw new TensorShapeError(`outputs[${i}].parameters.binary_data must be true or false`);
    if (flag ?? allBinary) binary.push(name);
    return name;
  });
  return { outputs, binary };
}

/**
 * The infer response: JSON, or (when outputs were asked for as binary) the JSON header followed by the raw
 * little-endian FP32 bytes of those outputs, in order, with the header's length for the HTTP header.
 */
export function inferResponse(
  model: Model,
  req: InferRequest,
  result: Record<string, OutputTensor>,
): { json: Record<string, unknown>; binary?: { body: Buffer; headerLength: number } } {
  const chunks: Buffer[] = [];
  const outputs = req.outputs.map((name) => {
    const t = result[name];
    const base = { name, datatype: 'FP32', shape: t.shape };
    if (!req.binary.includes(name)) return { ...base, data: Array.from(t.data) };
    const bytes = Buffer.alloc(t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) bytes.writeFloatLE(t.data[i], i * 4);
    chunks.push(bytes);
    return { ...base, parameters: { binary_data_size: bytes.length } };
  });
  const json = { model_name: model.name, model_version: '1', ...(req.id !== undefined && { id: req.id }), outputs };
  if (chunks.length === 0) return { json };
  const header = Buffer.from(JSON.stringify(json), 'utf8');
  return { json, binary: { body: Buffer.concat([header, ...chunks]), headerLength: header.length } };
}

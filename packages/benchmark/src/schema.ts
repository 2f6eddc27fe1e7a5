// JSON Schema (draft-07) of the `--json` file, and its validator (ajv). The schema is exported so other tools
// can check a result file; `semembed benchmark --schema` prints it.
import { Ajv, type ValidateFunction } from 'ajv';

const num = { type: 'number' };
const numOrNull = { type: ['number', 'null'] };
const str = { type: 'string' };
/** An object whose properties are all required: the key list is written once. */
const allRequired = <P extends Record<string, unknown>>(properties: P) =>
  ({ type: 'object', required: Object.keys(properties) as (keyof P & string)[], properties }) as const;
const summary = allRequired({ min: num, median: num, max: num, spread: num, runs: { type: 'array', items: num } });

export const RESULT_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://semembed.dev/schemas/benchmark-result-1.json',
  title: 'semembed benchmark result',
  type: 'object',
  required: ['format', 'model', 'environment', 'settings', 'cost', 'runners', 'recommendation', 'warnings'],
  properties: {
    format: { const: 'semembed-benchmark/1' },
    model: {
      type: 'object',
      required: ['source', 'onnx', 'input', 'layout', 'outputs'],
      properties: {
        source: str,
        onnx: str,
        h5: str,
        input: { type: 'array', items: { type: 'integer' } },
        layout: { enum: ['NHWC', 'NCHW'] },
        outputs: { type: 'array', items: str },
      },
    },
    environment: {
      type: 'object',
      required: ['cpu', 'cores', 'memoryBytes', 'os', 'node', 'versions', 'loadAverage', 'gpu', 'date'],
      properties: {
        cpu: str,
        cores: { type: 'integer', minimum: 1 },
        memoryBytes: num,
        os: str,
        node: str,
        chromium: str,
        versions: { type: 'object', additionalProperties: str },
        loadAverage: { type: 'array', items: num },
        gpu: { type: 'array', items: str },
        env: { type: 'object', additionalProperties: str },
        date: str,
      },
    },
    settings: {
      type: 'object',
      required: [
        'runtimes',
        'scenarios',
        'batches',
        'tolerance',
        'latencyBoundMs',
        'limits',
        'accuracySamples',
        'reference',
      ],
      properties: {
        runtimes: { type: 'array', items: str },
        scenarios: { type: 'array', items: { enum: ['single-stream', 'offline', 'server', 'cold-start'] } },
        batches: { type: 'array', items: { type: 'integer', minimum: 1 } },
        tolerance: num,
        latencyBoundMs: num,
        quick: { type: 'boolean' },
        limits: { type: 'object' },
        accuracySamples: { type: 'integer', minimum: 1 },
        reference: str,
        labelledSource: str,
        precision: str,
        variants: {
          type: 'array',
          items: { type: 'object', required: ['name', 'onnx'], properties: { name: str, onnx: str } },
        },
      },
    },
    cost: { type: 'object', properties: { flopsPerSample: num, bytesPerSample: num, reason: str } },
    peak: allRequired({ gflops: num, sgemm: str, bandwidthGBs: num }),
    runners: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'label', 'family', 'status'],
        properties: {
          id: str,
          variant: str,
          label: str,
          family: { enum: ['node', 'browser', 'server'] },
          status: { enum: ['ok', 'unavailable', 'failed'] },
          reason: str,
          detail: str,
          coldStart: allRequired({ sessionMs: num, firstInferenceMs: num, totalMs: num }),
          singleStream: {
            type: 'object',
            required: ['queries', 'p50', 'p90', 'p99', 'mean', 'latencies', 'repeats'],
            properties: {
              queries: { type: 'integer' },
              p50: num,
              p90: num,
              p99: num,
              mean: num,
              latencies: { type: 'array', items: num },
              repeats: summary,
            },
          },
          offline: {
            type: 'array',
            items: {
              type: 'object',
              required: ['batch', 'throughput', 'msPerBatch'],
              properties: {
                batch: { type: 'integer' },
                throughput: summary,
                msPerBatch: num,
                gflops: num,
                percentOfPeak: num,
              },
            },
          },
          server: {
            type: 'object',
            required: ['latencyBoundMs', 'maxQps', 'levels'],
            properties: {
              latencyBoundMs: num,
              maxQps: num,
              levels: {
                type: 'array',
                items: allRequired({ qps: num, queries: { type: 'integer' }, p99: numOrNull, ok: { type: 'boolean' } }),
              },
            },
          },
          accuracy: {
            type: 'object',
            required: ['reference', 'samples', 'outputs', 'flagged'],
            properties: {
              reference: str,
              samples: { type: 'integer' },
              flagged: { type: 'boolean' },
              flagReason: str,
              top1Agreement: num,
              // Infinity (a NaN output) is written as null by JSON.stringify.
              outputs: {
                type: 'object',
                additionalProperties: allRequired({ maxAbsDiff: numOrNull, worstCosine: numOrNull }),
              },
              labelled: {
                type: 'object',
                required: ['samples'],
                properties: { samples: { type: 'integer' }, mAHP: num, balancedAccuracy: num, k: { type: 'integer' } },
              },
            },
          },
          peakRssBytes: num,
          gpuMemoryBytes: num,
          noise: { type: 'array', items: str },
        },
      },
    },
    recommendation: str,
    warnings: { type: 'array', items: str },
  },
} as const;

let validator: ValidateFunction | undefined;

/** undefined when valid; otherwise the errors as `path: message` lines. */
export function validateResult(json: unknown): string[] | undefined {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(RESULT_SCHEMA);
  if (validator(json)) return undefined;
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message}`);
}

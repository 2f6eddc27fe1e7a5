import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { RuntimeNodeError } from '../errors.js';
import type { Loaded, ServerContext } from './context.js';
import { inferResponse, parseBinaryInferRequest, parseInferRequest } from './v2-tensors.js';

export const SERVER_NAME = 'semembed';
export const SERVER_VERSION = '0.1.0';
/** Each model is served as its one version, "1". */
const VERSIONS = ['1'];

interface Params {
  name: string;
  version?: string;
}

/**
 * Open Inference Protocol v2 (KServe / Triton): health, server and model metadata, readiness and infer, each
 * model route also under /versions/{v}; the binary tensor extension for inputs and outputs.
 */
export const v2Plugin: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const model = (req: FastifyRequest): Loaded => {
    const { name, version } = req.params as Params;
    const l = ctx.getModel(name);
    if (version !== undefined && !VERSIONS.includes(version)) {
      throw new RuntimeNodeError(
        `model ${name} has no version ${JSON.stringify(version)} (versions: ${VERSIONS.join(', ')})`,
        404,
      );
    }
    return l;
  };

  const metadata = async (req: FastifyRequest) => {
    const m = model(req).model;
    return {
      name: m.name,
      versions: VERSIONS,
      platform: 'onnxruntime_onnx',
      inputs: [{ name: m.inputName, datatype: 'FP32', shape: [-1, ...m.sampleShape] }],
      outputs: m.session.outputNames.map((name) => {
        const o = m.sidecar.outputs.find((x) => x.name === name);
        return { name, datatype: 'FP32', shape: [-1, ...(o?.dim !== undefined ? [o.dim] : [])] };
      }),
    };
  };

  const ready = async (req: FastifyRequest, reply: FastifyReply) => {
    const { name } = model(req).model;
    if (ctx.isClosing()) return reply.code(503).send({ name, ready: false });
    return { name, ready: true };
  };

  const infer = async (req: FastifyRequest, reply: FastifyReply) => {
    const l = model(req);
    const { maxInferBatch } = ctx.limits;
    const r = Buffer.isBuffer(req.body)
      ? parseBinaryInferRequest(req.body, req.headers['inference-header-content-length'], l.model, maxInferBatch)
      : parseInferRequest(req.body, l.model, maxInferBatch);
    const result = await ctx.infer(l, r.input, r.n);
    const { json, binary } = inferResponse(l.model, r, result);
    if (!binary) return json;
    reply.header('inference-header-content-length', String(binary.headerLength));
    return reply.type('application/octet-stream').send(binary.body);
  };

  app.get('/v2', async () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: ['binary_tensor_data'] }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => {
    if (ctx.isClosing()) return reply.code(503).send({ ready: false });
    return { ready: true };
  });
  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(base, metadata);
    app.get(`${base}/ready`, ready);
    app.post(`${base}/infer`, infer);
  }
};

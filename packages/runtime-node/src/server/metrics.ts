import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus registry: the standard process_* / nodejs_* metrics under their own names, ours as semembed_*. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: 'semembed_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpLatency: new Histogram({
      name: 'semembed_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchSizes: new Histogram({
      name: 'semembed_batch_size',
      help: 'Samples per inference batch',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    }),
    inferLatency: new Histogram({
      name: 'semembed_inference_duration_seconds',
      help: 'Time of one inference batch',
      labelNames: ['model'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    inferErrors: new Counter({
      name: 'semembed_inference_errors_total',
      help: 'Failed inference batches',
      labelNames: ['model'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'semembed_queue_depth',
      help: 'Samples waiting for a batch',
      labelNames: ['model'],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** GET /metrics, and the per-request counters (an onResponse hook on the root, so every route counts). */
export const metricsPlugin: FastifyPluginAsync<{ metrics: Metrics }> = async (app, { metrics }) => {
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Histogram, type Registry } from 'prom-client';
import { healthSchema } from '../schemas/records.js';

export interface ObservabilityOptions {
  readonly registry: Registry;
  /** True once the service can do its work, false again while it stops. */
  readonly isReady: () => boolean;
}

const started = Symbol('started');

/**
 * `/healthz`, `/readyz`, and the request duration histogram. `/metrics` has a port of its own
 * (METRICS_PORT), so the ingest port can be exposed without it.
 */
export default fp<ObservabilityOptions>(
  async (app: FastifyInstance, { registry, isReady }) => {
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration, by method, route and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    app.decorateRequest(started, 0n);
    app.addHook('onRequest', async (request) => {
      (request as unknown as Record<symbol, bigint>)[started] = process.hrtime.bigint();
    });
    app.addHook('onResponse', async (request, reply) => {
      const begin = (request as unknown as Record<symbol, bigint>)[started] ?? process.hrtime.bigint();
      const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
      const route = request.routeOptions.url ?? 'unmatched';
      duration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, seconds);
    });

    const health = (summary: string) => ({
      logLevel: 'warn' as const,
      schema: { summary, response: { 200: healthSchema, 503: { $ref: 'Error#' } } },
    });
    app.get('/healthz', health('The process is up'), async () => ({ status: 'ok' }));
    app.get(
      '/readyz',
      health('Ready to take records: 503 NOT_READY while starting or stopping'),
      async (_request, reply) =>
        isReady()
          ? { status: 'ready' }
          : reply
              .status(503)
              .header('retry-after', '1')
              .send({ error: { code: 'NOT_READY', message: 'the service is not ready' } }),
    );
  },
  { name: 'observability' },
);

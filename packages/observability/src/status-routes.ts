import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Histogram, type Registry } from 'prom-client';

/** Why a service is not ready: the body of its 503, `{ error: { code, message, ...details } }`. */
export interface NotReady {
  readonly code: string;
  readonly message: string;
  readonly [detail: string]: unknown;
}

export interface StatusRoutesOptions {
  readonly registry: Registry;
  /** Undefined when ready. Leave it out and there is no `/readyz` (a metrics-only port). */
  readonly readiness?: () => NotReady | undefined;
  /** Serve `/metrics` here; when `authorize` is given, it answers 401 unless that accepts the Authorization header. */
  readonly metrics?: { readonly authorize?: (authorization: string | undefined) => boolean };
  /** Time every request in `http_request_duration_seconds` (the producer's ingest port). */
  readonly requestDuration?: boolean;
}

const started = Symbol('started');

const statusBody = { type: 'object', required: ['status'], properties: { status: { type: 'string' } } } as const;
const errorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      additionalProperties: true,
    },
  },
} as const;

/**
 * A service's operational routes, the same in the producer and the consumer: `/healthz` (the
 * process is up), `/readyz` (it can do its work; 503 with a code saying why not), `/metrics` (its
 * own Registry in the Prometheus text format), and the request duration histogram.
 */
export const statusRoutes = fp<StatusRoutesOptions>(
  async (app: FastifyInstance, options) => {
    if (options.requestDuration === true) {
      const duration = new Histogram({
        name: 'http_request_duration_seconds',
        help: 'HTTP request duration, by method, route and status code.',
        labelNames: ['method', 'route', 'status_code'] as const,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [options.registry],
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
    }

    const probe = (summary: string) => ({
      logLevel: 'warn' as const,
      schema: { summary, response: { 200: statusBody, 503: errorBody } },
    });
    app.get('/healthz', probe('The process is up'), async () => ({ status: 'ok' }));
    const { readiness } = options;
    if (readiness !== undefined) {
      app.get('/readyz', probe('Ready to work: 503 with a code saying why not'), async (_request, reply) => {
        const notReady = readiness();
        if (notReady === undefined) return { status: 'ready' };
        return reply.status(503).header('retry-after', '1').send({ error: notReady });
      });
    }
    const { metrics } = options;
    if (metrics !== undefined) {
      app.get('/metrics', { logLevel: 'warn' }, async (request, reply) => {
        if (metrics.authorize?.(request.headers.authorization) === false) {
          return reply
            .status(401)
            .header('www-authenticate', 'Bearer')
            .send({
              error: { code: 'UNAUTHORIZED', message: 'a valid API key is needed: Authorization: Bearer <key>' },
            });
        }
        return reply.type(options.registry.contentType).send(await options.registry.metrics());
      });
    }
  },
  { name: 'status-routes' },
);

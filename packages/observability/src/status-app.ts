import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { type StatusRoutesOptions, statusRoutes } from './status-routes.js';

export interface StatusAppOptions extends Omit<StatusRoutesOptions, 'requestDuration'> {
  readonly logger?: FastifyBaseLogger;
}

const ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * A port that serves only the status routes (the consumer's one port, the producer's metrics
 * port), with the services' error shape for anything else: 405 METHOD_NOT_ALLOWED for a write to
 * a status route, 404 NOT_FOUND otherwise.
 */
export async function buildStatusApp(options: StatusAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ ...(options.logger === undefined ? {} : { loggerInstance: options.logger }) });
  await app.register(statusRoutes, options);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if (ROUTES.has(path) && request.method !== 'GET' && request.method !== 'HEAD') {
      return reply
        .status(405)
        .header('allow', 'GET, HEAD')
        .send({ error: { code: 'METHOD_NOT_ALLOWED', message: 'only GET is served' } });
    }
    return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${path}` } });
  });
  return app;
}

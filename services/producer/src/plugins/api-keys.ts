import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createApiKeyCheck } from '../api-keys.js';
import { ProducerErrors } from '../errors.js';

interface ApiKeysOptions {
  readonly keys: readonly string[];
}

// Orchestrators probe these without credentials.
const OPEN_ROUTES = new Set(['/healthz', '/readyz']);

/** With API keys configured, every route but the health probes needs `Authorization: Bearer <key>`; else 401. */
export default fp<ApiKeysOptions>(
  async (app: FastifyInstance, { keys }) => {
    const allowed = createApiKeyCheck(keys);
    app.addHook('onRequest', async (request, reply) => {
      if (OPEN_ROUTES.has(request.routeOptions.url ?? '')) return;
      if (allowed(request.headers.authorization)) return;
      reply.header('www-authenticate', 'Bearer');
      throw new ProducerErrors.UNAUTHORIZED();
    });
  },
  { name: 'api-keys' },
);

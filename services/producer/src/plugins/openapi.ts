import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

interface OpenApiOptions {
  /** Documents the Bearer scheme when API keys are configured. */
  readonly apiKeys: boolean;
}

/**
 * The routes' own JSON schemas, which Fastify validates and serializes with, published as an
 * OpenAPI 3.1 document at `GET /openapi.json`. Registered before the routes, so it sees each one.
 */
export default fp<OpenApiOptions>(
  async (app: FastifyInstance, { apiKeys }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Records producer',
          // The HTTP API's own version: it changes when a route, a schema or an error code does.
          version: '1.0.0',
          description:
            'Encrypts each record once and puts it on the stream of every region. A 201 means every region took it.',
        },
        ...(apiKeys
          ? {
              components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
              security: [{ apiKey: [] }],
            }
          : {}),
      },
      // Shared schemas appear under components.schemas by their $id.
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`) },
    });
    app.get('/openapi.json', { schema: { hide: true }, logLevel: 'warn' }, async () => app.swagger());
  },
  { name: 'openapi', dependencies: ['error-handler'] },
);

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ProducerMetrics } from './metrics.js';
import errorHandler from './plugins/error-handler.js';
import observability from './plugins/observability.js';
import type { RecordIngestor } from './record-ingestor.js';
import recordsRoute from './routes/records.js';

export interface AppDeps {
  readonly logger: FastifyBaseLogger;
  readonly registry: Registry;
  readonly metrics: ProducerMetrics;
  readonly ingest: RecordIngestor;
  readonly isReady: () => boolean;
  /** Largest accepted body, in bytes; larger bodies get PAYLOAD_TOO_LARGE. */
  readonly bodyLimit: number;
}

/** Builds the producer's HTTP app from what it is given; it opens no port. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger, bodyLimit: deps.bodyLimit, return503OnClosing: true });
  // Records are JSON only: anything else is UNSUPPORTED_MEDIA_TYPE rather than a string body.
  app.removeContentTypeParser('text/plain');
  await app.register(errorHandler);
  await app.register(observability, { registry: deps.registry, isReady: deps.isReady });
  await app.register(recordsRoute, { ingest: deps.ingest, metrics: deps.metrics });
  return app;
}

import { parseRecordJson } from '@records/record-item';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ProducerErrors, UnsupportedMediaTypeError } from './errors.js';
import type { ProducerMetrics } from './metrics.js';
import admission from './plugins/admission.js';
import apiKeys from './plugins/api-keys.js';
import errorHandler, { sendClientError, sendError } from './plugins/error-handler.js';
import observability from './plugins/observability.js';
import openapi from './plugins/openapi.js';
import type { RecordIngestor } from './record-ingestor.js';
import recordsRoute from './routes/records.js';
import recordsBatchRoute, { BATCH_LIMITS, ndjsonLines } from './routes/records-batch.js';
import { sharedSchemas } from './schemas/shared.js';

export interface AppDeps {
  readonly logger: FastifyBaseLogger;
  readonly registry: Registry;
  readonly metrics: ProducerMetrics;
  readonly ingest: RecordIngestor;
  readonly isReady: () => boolean;
  /** True while the producer's clock is proven outside the skew bound (/readyz answers CLOCK_SKEWED). */
  readonly isClockSkewed?: () => boolean;
  /** Largest accepted body, in bytes; larger bodies get PAYLOAD_TOO_LARGE. */
  readonly bodyLimit: number;
  /** Bounds on the work in hand; past them, 503 OVERLOADED at once. Unbounded when unset. */
  readonly admission?: { readonly maxInFlightRecords: number; readonly maxInFlightBytes: number };
  /** A client must send its whole request within this time (Node closes the connection otherwise). */
  readonly requestTimeoutMs?: number;
  /** When given, every route but /healthz and /readyz needs one of them as a Bearer token. */
  readonly apiKeys?: readonly string[];
}

/** Builds the producer's HTTP app from what it is given; it opens no port. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimit,
    // Slow clients are cut off: the whole request within requestTimeoutMs, the headers within Node's 60 s.
    ...(deps.requestTimeoutMs === undefined ? {} : { requestTimeout: deps.requestTimeoutMs }),
    // Fastify's own 503 while closing has its own body and no Retry-After; the hook below answers instead.
    return503OnClosing: false,
    // Bad URLs fail before routing, where the error handler cannot see them.
    frameworkErrors: sendError,
    // So do requests Node's parser refuses: they get the same error shape.
    clientErrorHandler: sendClientError,
    // Schemas check; they never change a value (no coercion of `id: true` to "true", no defaults).
    ajv: { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false } },
  });
  // Records are JSON only: anything else is UNSUPPORTED_MEDIA_TYPE rather than a string body.
  app.removeContentTypeParser('text/plain');
  // The body is decoded strictly and parsed without losing a digit, where Fastify's parser would
  // replace bad UTF-8 and turn numbers into doubles; the route's schema then checks the value.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      done(new UnsupportedMediaTypeError(`records are JSON in UTF-8, not ${charset}`));
      return;
    }
    try {
      done(null, parseRecordJson(body as Buffer));
    } catch (error) {
      done(error as Error);
    }
  });
  await app.register(errorHandler);
  for (const schema of sharedSchemas) app.addSchema(schema);
  await app.register(openapi, { apiKeys: (deps.apiKeys?.length ?? 0) > 0 });
  await app.register(observability, {
    registry: deps.registry,
    isReady: deps.isReady,
    ...(deps.isClockSkewed === undefined ? {} : { isClockSkewed: deps.isClockSkewed }),
  });
  // Requests that still arrive while the app closes (on open keep-alive connections) do no work;
  // added after observability so their duration is still timed.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new ProducerErrors.NOT_READY('the service is shutting down');
  });
  // While closing, every answer (those of requests still in hand too) closes its connection: a
  // keep-alive connection left open by a client that keeps it idle would hold the close up until
  // the shutdown grace runs out (seen: "killed by timeout" after every request was answered).
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  // Before admission: a request without a key takes no slot.
  if (deps.apiKeys !== undefined && deps.apiKeys.length > 0) await app.register(apiKeys, { keys: deps.apiKeys });
  if (deps.admission !== undefined) {
    await app.register(admission, {
      ...deps.admission,
      // The most a request may hold, counted when it does not say (no Content-Length); a batch
      // counts its lines once its body is read.
      routes: {
        '/records': { maxBytes: deps.bodyLimit },
        '/records/batch': {
          maxBytes: BATCH_LIMITS.maxBytes,
          records: (body) => (Buffer.isBuffer(body) ? ndjsonLines(body).length : 1),
        },
      },
      metrics: deps.metrics,
    });
  }
  await app.register(recordsRoute, { ingest: deps.ingest, metrics: deps.metrics });
  await app.register(recordsBatchRoute, {
    ingest: deps.ingest,
    metrics: deps.metrics,
    ...BATCH_LIMITS,
    maxRecordBytes: deps.bodyLimit,
  });
  return app;
}

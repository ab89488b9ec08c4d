import type { FastifyInstance } from 'fastify';
import type { ProducerMetrics } from '../metrics.js';
import type { RecordIngestor } from '../record-ingestor.js';

export interface RecordsRouteOptions {
  readonly ingest: RecordIngestor;
  readonly metrics: ProducerMetrics;
}

function outcome(statusCode: number): 'accepted' | 'invalid' | 'failed' {
  if (statusCode < 400) return 'accepted';
  return statusCode < 500 ? 'invalid' : 'failed';
}

/** `POST /records`: one JSON object in, its id and its position in every region's stream out. */
export default async function recordsRoute(app: FastifyInstance, { ingest, metrics }: RecordsRouteOptions) {
  // Counted from the answer, so bodies refused before the handler (bad JSON, too large) count too.
  app.addHook('onResponse', async (_request, reply) => {
    metrics.records.inc({ outcome: outcome(reply.statusCode) });
  });
  app.post('/records', async (request, reply) => {
    // The JSON parser hands over the raw bytes; a request without a body has none.
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    return reply.status(201).send(await ingest(body));
  });
}

import type { FastifyInstance } from 'fastify';
import type { ProducerMetrics } from '../metrics.js';
import type { RecordIngestor } from '../record-ingestor.js';

export interface RecordsRouteOptions {
  readonly ingest: RecordIngestor;
  readonly metrics: ProducerMetrics;
}

/** `POST /records`: one JSON object in, its id and its position in every region's stream out. */
export default async function recordsRoute(app: FastifyInstance, { ingest, metrics }: RecordsRouteOptions) {
  app.post('/records', async (request, reply) => {
    try {
      const result = await ingest(request.body);
      metrics.records.inc({ outcome: 'accepted' });
      return reply.status(201).send(result);
    } catch (error) {
      const status = (error as { code?: string }).code;
      const clientFault =
        status === 'RECORD_NOT_OBJECT' || status === 'INVALID_RECORD_ID' || status === 'RECORD_NOT_STORABLE';
      metrics.records.inc({ outcome: clientFault ? 'invalid' : 'failed' });
      throw error;
    }
  });
}

import type { JsonValue } from '@records/record-item';
import type { FastifyInstance } from 'fastify';
import type { ProducerMetrics } from '../metrics.js';
import { ParsedRecord } from '../parsed-record.js';
import type { RecordIngestor } from '../record-ingestor.js';
import { errorResponses } from '../schemas/errors.js';

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
  app.post<{ Body: JsonValue }>(
    '/records',
    {
      schema: {
        summary: 'Put one record on the stream of every region',
        description:
          '201 once every region took it, or (with hand-off) once one region took it and every other region has a durable hand-off entry: `pending` names those. 503 STREAM_UNAVAILABLE names the regions that did not: retry with the same id.',
        body: { $ref: 'Record#' },
        response: { 201: { $ref: 'IngestResult#' }, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await ingest(new ParsedRecord(request.body))),
  );
}

import type { FastifyInstance } from 'fastify';
import { ProducerErrors } from '../errors.js';
import type { ProducerMetrics } from '../metrics.js';
import { type ErrorDetails, errorAnswer } from '../plugins/error-handler.js';
import type { IngestResult, RecordIngestor } from '../record-ingestor.js';
import { errorResponses } from '../schemas/errors.js';

export interface RecordsBatchRouteOptions {
  readonly ingest: RecordIngestor;
  readonly metrics: ProducerMetrics;
  /** Records in one batch, at most. */
  readonly maxRecords: number;
  /** Bytes of one batch's body, at most. */
  readonly maxBytes: number;
  /** Bytes of one record (one line), at most: MAX_RECORD_BYTES. */
  readonly maxRecordBytes: number;
}

/** What one `POST /records/batch` may carry, as the README and the OpenAPI document say: PutRecords' own limits. */
export const BATCH_LIMITS = Object.freeze({ maxRecords: 500, maxBytes: 5 * 1024 * 1024 });

type Outcome = ({ readonly status: 201 } & IngestResult) | { readonly status: number; readonly error: ErrorDetails };

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** The lines of an NDJSON body, without their line ends; blank lines are skipped. */
export function ndjsonLines(body: Buffer): Buffer[] {
  const found: Buffer[] = [];
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(NEWLINE, start);
    if (end === -1) end = body.length;
    let line = body.subarray(start, end);
    if (line.at(-1) === CARRIAGE_RETURN) line = line.subarray(0, -1);
    if (line.some((byte) => byte !== 0x20 && byte !== 0x09)) found.push(line);
    start = end + 1;
  }
  return found;
}

function outcomeLabel(status: number): 'accepted' | 'invalid' | 'failed' {
  if (status < 400) return 'accepted';
  return status < 500 ? 'invalid' : 'failed';
}

/**
 * `POST /records/batch`: records as NDJSON (`application/x-ndjson`), one JSON object a line, each
 * ingested as `POST /records` would (the same checks, the same guarantees). The answer gives every
 * line's outcome in order: 201 when all were accepted, 207 Multi-Status otherwise.
 */
export default async function recordsBatchRoute(app: FastifyInstance, options: RecordsBatchRouteOptions) {
  app.addContentTypeParser(
    'application/x-ndjson',
    { parseAs: 'buffer', bodyLimit: options.maxBytes },
    (_r, body, done) => done(null, body),
  );
  const schema = {
    summary: 'Put many records, one JSON object a line (application/x-ndjson)',
    description: `At most ${options.maxRecords} records and ${options.maxBytes} bytes. Each line is ingested as POST /records would; the answer gives each line's outcome in order: 201 when all were accepted, 207 otherwise.`,
    consumes: ['application/x-ndjson'],
    response: { 201: { $ref: 'BatchResult#' }, 207: { $ref: 'BatchResult#' }, ...errorResponses },
  };
  app.post('/records/batch', { bodyLimit: options.maxBytes, schema }, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const records = ndjsonLines(body);
    if (records.length === 0) throw new ProducerErrors.INVALID_JSON('the body holds no record');
    if (records.length > options.maxRecords) throw new ProducerErrors.BATCH_TOO_LARGE(options.maxRecords);
    const results = await Promise.all(
      records.map(async (line): Promise<Outcome> => {
        try {
          if (line.byteLength > options.maxRecordBytes) throw new ProducerErrors.PAYLOAD_TOO_LARGE();
          return { status: 201, ...(await options.ingest(line)) };
        } catch (error) {
          // The line's answer is what POST /records answers: with STREAM_UNAVAILABLE, the id to
          // retry with (generated when the line had none) and the regions that took the record.
          const { status, error: details } = errorAnswer(error);
          if (status >= 500) request.log.error({ err: error, code: details.code }, 'record of a batch failed');
          return { status, error: details };
        }
      }),
    );
    for (const result of results) options.metrics.records.inc({ outcome: outcomeLabel(result.status) });
    const accepted = results.filter((result) => result.status === 201).length;
    return reply
      .status(accepted === results.length ? 201 : 207)
      .send({ accepted, failed: results.length - accepted, results });
  });
}

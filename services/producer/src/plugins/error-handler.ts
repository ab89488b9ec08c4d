import { KmsUnavailableError } from '@records/data-key-cache';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { StreamUnavailableError } from '../errors.js';

/** Every error code the producer answers with, and its HTTP status. Documented in the README. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_ENCODING: 400,
  RECORD_NOT_OBJECT: 400,
  INVALID_RECORD_ID: 400,
  RESERVED_ATTRIBUTE: 400,
  RECORD_NOT_STORABLE: 400,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_READY: 503,
  KMS_UNAVAILABLE: 503,
  STREAM_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

// Fastify's own request errors, under the producer's stable codes.
const FASTIFY_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_JSON',
  // Raised before routing, so they reach `sendError` through Fastify's `frameworkErrors` option.
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'BAD_REQUEST',
};

function stableCode(error: FastifyError): string {
  if (ERROR_STATUS[error.code] !== undefined) return error.code;
  const mapped = FASTIFY_CODES[error.code];
  if (mapped !== undefined) return mapped;
  // The JSON parser rethrows the SyntaxError (bad JSON, or a forbidden __proto__ key) with a 400.
  if (error instanceof SyntaxError && error.statusCode === 400) return 'INVALID_JSON';
  return 'INTERNAL_ERROR';
}

function publicMessage(code: string, error: FastifyError): string {
  if (code === 'INTERNAL_ERROR') return 'internal error';
  if (code === 'INVALID_JSON' && error.message.startsWith('the body')) return error.message;
  if (code === 'INVALID_JSON') return 'the body is not valid JSON';
  // Fastify's message repeats the URL; the client already has it.
  if (code === 'BAD_REQUEST') return 'the request URL is not valid';
  if (code === 'KMS_UNAVAILABLE') return 'the key service is unavailable; retry later';
  return error.message;
}

/** Seconds a client should wait before retrying a 503: the key cache's back-off window when it has one. */
function retryAfterSeconds(error: FastifyError): number {
  if (error instanceof KmsUnavailableError) return Math.max(1, Math.ceil(error.retryAfterMs / 1000));
  return 1;
}

/** Answers `error` as `{ error: { code, message } }` with a stable code; 5xx bodies hide internals. */
export function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const code = stableCode(error);
  const status = ERROR_STATUS[code] ?? 500;
  if (status >= 500) request.log.error({ err: error, code }, 'request failed');
  else request.log.info({ code }, 'request refused');
  const details = error instanceof StreamUnavailableError ? { id: error.id, regions: error.failedRegions } : {};
  if (status === 503) reply.header('retry-after', String(retryAfterSeconds(error)));
  return reply.status(status).send({ error: { code, message: publicMessage(code, error), ...details } });
}

/** Routes every error, and every unknown route, through `sendError`. */
export default fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(sendError);
    app.setNotFoundHandler((request, reply) =>
      reply
        .status(404)
        .send({ error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${request.url}` } }),
    );
  },
  { name: 'error-handler' },
);

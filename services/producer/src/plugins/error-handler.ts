import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { KmsUnavailableError } from '@records/data-key-cache';
import { PipelineError } from '@records/errors';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  isProducerErrorCode,
  ProducerError,
  type ProducerErrorCode,
  ProducerErrors,
  StreamUnavailableError,
} from '../errors.js';

// Fastify's own request errors, under the producer's stable codes.
const FASTIFY_CODES: Readonly<Record<string, ProducerErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_JSON',
  // Raised before routing, so they reach `sendError` through Fastify's `frameworkErrors` option.
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'BAD_REQUEST',
};

/**
 * A package's error, or Fastify's, under one of the producer's codes: the code's own message where
 * it always says the same, else the error's; a wait the package asked for (the cache's back-off)
 * is kept for Retry-After.
 */
function translate(code: ProducerErrorCode, error: Error): ProducerError {
  const declaredError = ProducerErrors[code];
  return new ProducerError(code, declaredError.statusCode, declaredError.message ?? error.message, {
    cause: error,
    ...(error instanceof KmsUnavailableError ? { retryAfterMs: error.retryAfterMs } : {}),
  });
}

const BACK_PRESSURE: ReadonlySet<string> = new Set(['OVERLOADED', 'NOT_READY']);

/** A route schema's refusal, under the code the same refusal gets in code (`prepareRecord`). */
function fromValidation(error: FastifyError): ProducerError {
  const first = error.validation?.[0];
  if (error.validationContext === 'body' && first !== undefined) {
    if (first.instancePath === '' && first.keyword === 'type') {
      return new ProducerErrors.RECORD_NOT_OBJECT('a record must be a JSON object', { cause: error });
    }
    if (first.instancePath === '/id') {
      return new ProducerErrors.INVALID_RECORD_ID(
        '`id` must be a non-empty string of at most 1024 bytes without control characters',
        { cause: error },
      );
    }
  }
  return new ProducerErrors.BAD_REQUEST(error.message, { cause: error });
}

/** The error as one the producer declares: its own, a package's under a declared code, or Fastify's. */
function declared(error: FastifyError): ProducerError {
  if (error.validation !== undefined) return fromValidation(error);
  if (error instanceof ProducerError) return error;
  // A package's error (record-item's validation, the cache's KMS_UNAVAILABLE) under a code declared here.
  if (error instanceof PipelineError && isProducerErrorCode(error.code)) return translate(error.code, error);
  const mapped = FASTIFY_CODES[error.code];
  // Fastify's message repeats the URL; the client already has it.
  if (mapped === 'BAD_REQUEST') return new ProducerErrors.BAD_REQUEST('the request URL is not valid', { cause: error });
  if (mapped !== undefined) return translate(mapped, error);
  // Fastify's JSON parsers throw the SyntaxError itself with a 400.
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new ProducerErrors.INVALID_JSON('the body is not valid JSON', { cause: error });
  }
  return new ProducerErrors.INTERNAL_ERROR({ cause: error });
}

/** Seconds a client should wait before retrying a 503: what the error asks (the cache's back-off, a shard's backlog), at least one. */
function retryAfterSeconds(error: ProducerError): number {
  return error.retryAfterMs === undefined ? 1 : Math.max(1, Math.ceil(error.retryAfterMs / 1000));
}

/** The `error` member of every error body: its stable code, its message, and what a retry needs. */
export interface ErrorDetails {
  readonly code: string;
  readonly message: string;
  /** STREAM_UNAVAILABLE: the id to retry with, the regions that did not take the record and those that did. */
  readonly id?: string;
  readonly regions?: readonly string[];
  readonly accepted?: readonly string[];
}

/**
 * The one builder of error answers: the status, the `error` member of the body and, for a 503, the
 * seconds to put in Retry-After. `POST /records`, each line of a batch and every other route answer
 * an error with what this gives.
 */
export function errorAnswer(error: unknown): { status: number; error: ErrorDetails; retryAfterSeconds?: number } {
  const answer = declared(error as FastifyError);
  const status = answer.statusCode;
  const details =
    error instanceof StreamUnavailableError
      ? { id: error.id, regions: error.failedRegions, accepted: error.acceptedRegions }
      : {};
  return {
    status,
    error: { code: answer.code, message: answer.message, ...details },
    ...(status === 503 ? { retryAfterSeconds: retryAfterSeconds(answer) } : {}),
  };
}

/** Answers `error` as `{ error: { code, message, ... } }` with its declared status; 5xx bodies hide internals. */
export function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, error: body, retryAfterSeconds: retryAfter } = errorAnswer(error);
  // Back-pressure and shutdown are the producer working as designed: a warning, without a stack
  // (a burst would otherwise write a stack trace per request turned away).
  if (BACK_PRESSURE.has(body.code)) request.log.warn({ code: body.code }, 'request turned away');
  else if (status >= 500) request.log.error({ err: error, code: body.code }, 'request failed');
  else request.log.info({ code: body.code }, 'request refused');
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply.status(status).send({ error: body });
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (a body longer than its
 * Content-Length leaves bytes that are no request; slow or oversized headers), answered in the same
 * shape as every other error. The connection is closed after.
 */
export function sendClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answer =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ProducerErrors.REQUEST_TIMEOUT()
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new ProducerErrors.HEADERS_TOO_LARGE()
        : new ProducerErrors.BAD_REQUEST('the request is not valid HTTP');
  const { status, error: details } = errorAnswer(answer);
  const body = JSON.stringify({ error: details });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Routes every error, and every unknown route, through `sendError`. */
export default fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(sendError);
    app.setNotFoundHandler((request, reply) =>
      sendError(new ProducerErrors.NOT_FOUND(request.method, request.url), request, reply),
    );
  },
  { name: 'error-handler' },
);

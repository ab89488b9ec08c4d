import createError, { type FastifyErrorConstructor } from '@fastify/error';
import { PipelineError } from '@records/errors';

/** Base of every error the producer answers with; each is also a PipelineError with a stable `code`. */
export class ProducerError extends PipelineError {}

// Instances inherit from ProducerError (so from PipelineError); @fastify/error types its base as a plain Error.
const declare = (code: string, message: string, status: number) =>
  createError(code, message, status, ProducerError as unknown as ErrorConstructor);

/**
 * Every error the producer answers with, declared once: its stable code, its message and its HTTP
 * status. The README's table lists the same codes. Messages of 4xx errors are the client's to read;
 * 5xx messages hide internals.
 */
export const ProducerErrors = {
  BAD_REQUEST: declare('BAD_REQUEST', '%s', 400),
  INVALID_JSON: declare('INVALID_JSON', '%s', 400),
  INVALID_ENCODING: declare('INVALID_ENCODING', '%s', 400),
  RECORD_NOT_OBJECT: declare('RECORD_NOT_OBJECT', '%s', 400),
  INVALID_RECORD_ID: declare('INVALID_RECORD_ID', '%s', 400),
  RESERVED_ATTRIBUTE: declare('RESERVED_ATTRIBUTE', '%s', 400),
  RECORD_NOT_STORABLE: declare('RECORD_NOT_STORABLE', '%s', 400),
  UNAUTHORIZED: declare('UNAUTHORIZED', 'a valid API key is needed: Authorization: Bearer <key>', 401),
  NOT_FOUND: declare('NOT_FOUND', 'no route for %s %s', 404),
  REQUEST_TIMEOUT: declare('REQUEST_TIMEOUT', 'the request was not received in time', 408),
  PAYLOAD_TOO_LARGE: declare('PAYLOAD_TOO_LARGE', 'the body is larger than a record may be', 413),
  BATCH_TOO_LARGE: declare('BATCH_TOO_LARGE', 'a batch holds at most %d records', 413),
  UNSUPPORTED_MEDIA_TYPE: declare('UNSUPPORTED_MEDIA_TYPE', '%s', 415),
  HEADERS_TOO_LARGE: declare('HEADERS_TOO_LARGE', 'the request headers are too large', 431),
  KMS_UNAVAILABLE: declare('KMS_UNAVAILABLE', 'the key service is unavailable; retry later', 503),
  KMS_TIMEOUT: declare('KMS_TIMEOUT', 'the key service did not answer within the request budget; retry later', 503),
  ENCRYPTION_UNAVAILABLE: declare(
    'ENCRYPTION_UNAVAILABLE',
    'the encryption worker did not return the record; retry with the same id',
    503,
  ),
  COMMIT_WAIT_TIMEOUT: declare(
    'COMMIT_WAIT_TIMEOUT',
    'the request budget ran out while the answer waited out the clock-skew bound; retry with the same id',
    503,
  ),
  STREAM_UNAVAILABLE: declare('STREAM_UNAVAILABLE', 'the stream in %s did not take the record', 503),
  OVERLOADED: declare('OVERLOADED', 'the producer has as much work in hand as it takes; retry later', 503),
  NOT_READY: declare('NOT_READY', '%s', 503),
  CLOCK_SKEWED: declare(
    'CLOCK_SKEWED',
    "this producer's clock is further from the streams' than MAX_CLOCK_SKEW_MS allows; retry later or elsewhere",
    503,
  ),
  INTERNAL_ERROR: declare('INTERNAL_ERROR', 'internal error', 500),
} as const satisfies Record<string, FastifyErrorConstructor>;

export type ProducerErrorCode = keyof typeof ProducerErrors;

export function isProducerErrorCode(code: unknown): code is ProducerErrorCode {
  return typeof code === 'string' && Object.hasOwn(ProducerErrors, code);
}

/** `id` is present but not an id the producer takes. */
export const InvalidRecordIdError = ProducerErrors.INVALID_RECORD_ID;

/** The body's media type or charset is not JSON in UTF-8. */
export const UnsupportedMediaTypeError = ProducerErrors.UNSUPPORTED_MEDIA_TYPE;

/**
 * The record could not be put to every region's stream. Nothing was acknowledged, so the client
 * retries with the same `id`; regions that already took it will be written again, idempotently.
 */
export class StreamUnavailableError extends ProducerErrors.STREAM_UNAVAILABLE {
  readonly id: string;
  readonly failedRegions: readonly string[];
  /** The regions whose stream holds the record already; the retry writes it there again, idempotently. */
  readonly acceptedRegions: readonly string[];

  constructor(
    id: string,
    failedRegions: readonly string[],
    options: { cause?: unknown; acceptedRegions?: readonly string[] } = {},
  ) {
    super(failedRegions.join(', '), ...(options.cause === undefined ? [] : [{ cause: options.cause }]));
    this.id = id;
    this.failedRegions = failedRegions;
    this.acceptedRegions = options.acceptedRegions ?? [];
  }
}

/**
 * A region's stream has more queued for the record's shard than it takes within the put budget
 * (each shard takes 1,000 records and 1 MiB a second): turned away at once, before any region is
 * sent the record, rather than answered STREAM_UNAVAILABLE after the budget.
 */
export class StreamBacklogError extends ProducerErrors.OVERLOADED {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super();
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * A region's stream did not take the record and its hand-off backlog is at its bound
 * (HANDOFF_MAX_RECORDS, HANDOFF_MAX_BYTES): turned away rather than kept without limit.
 */
export class HandoffBacklogFullError extends ProducerErrors.OVERLOADED {
  readonly retryAfterMs = 5_000;
  readonly region: string;

  constructor(region: string) {
    super();
    this.region = region;
  }
}

/**
 * The producer's clock is proven too far from its streams' for its versions to order writes (see
 * ClockSkewMonitor): it takes no record until a later check finds it within the bound again.
 */
export class ClockSkewedError extends ProducerErrors.CLOCK_SKEWED {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super();
    this.retryAfterMs = retryAfterMs;
  }
}

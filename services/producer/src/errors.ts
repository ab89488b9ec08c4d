import { PipelineError } from '@records/errors';

interface ProducerErrorOptions {
  readonly cause?: unknown;
  /** A 503's hint: how long the client should wait before it retries (Retry-After, rounded up to seconds). */
  readonly retryAfterMs?: number;
}

/**
 * Base of every error the producer answers with: a PipelineError with a stable `code`, the HTTP
 * status it is answered with and, for a 503, how long to wait before retrying. The README's table
 * lists the codes. Messages of 4xx errors are the client's to read; 5xx messages hide internals.
 */
export class ProducerError extends PipelineError {
  readonly statusCode: number;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, statusCode: number, message: string, options: ProducerErrorOptions = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.statusCode = statusCode;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Names a declared error's class after its code (KMS_TIMEOUT: KmsTimeoutError), so logs and stack
 * traces say which error it is: a class made in a function has no name of its own.
 */
function named<T extends abstract new (...args: never[]) => ProducerError>(code: string, declared: T): T {
  const name = `${code
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('')}Error`;
  return Object.defineProperty(declared, 'name', { value: name });
}

/** A declared error whose message says what exactly is wrong, given where it is raised. */
function explained<const C extends string>(code: C, statusCode: number) {
  return named(
    code,
    class extends ProducerError {
      static readonly code = code;
      static readonly statusCode = statusCode;
      static readonly message: string | undefined = undefined;

      constructor(message: string, options?: ProducerErrorOptions) {
        super(code, statusCode, message, options);
      }
    },
  );
}

/** A declared error that always says the same. */
function fixed<const C extends string>(code: C, statusCode: number, message: string) {
  return named(
    code,
    class extends ProducerError {
      static readonly code = code;
      static readonly statusCode = statusCode;
      static readonly message: string | undefined = message;

      constructor(options?: ProducerErrorOptions) {
        super(code, statusCode, message, options);
      }
    },
  );
}

/**
 * The record could not be put to every region's stream. Nothing was acknowledged, so the client
 * retries with the same `id`; regions that already took it will be written again, idempotently.
 */
export class StreamUnavailableError extends ProducerError {
  static readonly code = 'STREAM_UNAVAILABLE';
  static readonly statusCode = 503;
  static readonly message: string | undefined = undefined;
  readonly id: string;
  readonly failedRegions: readonly string[];
  /** The regions whose stream holds the record already; the retry writes it there again, idempotently. */
  readonly acceptedRegions: readonly string[];

  constructor(
    id: string,
    failedRegions: readonly string[],
    options: { cause?: unknown; acceptedRegions?: readonly string[] } = {},
  ) {
    super('STREAM_UNAVAILABLE', 503, `the stream in ${failedRegions.join(', ')} did not take the record`, options);
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
export class StreamBacklogError extends ProducerError {
  constructor(retryAfterMs: number) {
    super('OVERLOADED', 503, OVERLOADED_MESSAGE, { retryAfterMs });
  }
}

/**
 * A region's stream did not take the record and its hand-off backlog is at its bound
 * (HANDOFF_MAX_RECORDS, HANDOFF_MAX_BYTES): turned away rather than kept without limit.
 */
export class HandoffBacklogFullError extends ProducerError {
  readonly region: string;

  constructor(region: string) {
    super('OVERLOADED', 503, OVERLOADED_MESSAGE, { retryAfterMs: 5_000 });
    this.region = region;
  }
}

const OVERLOADED_MESSAGE = 'the producer has as much work in hand as it takes; retry later';

/** No route for the request's method and URL. */
class NotFoundError extends ProducerError {
  static readonly code = 'NOT_FOUND';
  static readonly statusCode = 404;
  static readonly message: string | undefined = undefined;

  constructor(method: string, url: string) {
    super('NOT_FOUND', 404, `no route for ${method} ${url}`);
  }
}

/** A batch with more records than it may hold. */
class BatchTooLargeError extends ProducerError {
  static readonly code = 'BATCH_TOO_LARGE';
  static readonly statusCode = 413;
  static readonly message: string | undefined = undefined;

  constructor(maxRecords: number) {
    super('BATCH_TOO_LARGE', 413, `a batch holds at most ${maxRecords} records`);
  }
}

/**
 * Every error the producer answers with, declared once: its stable code, its HTTP status and, where
 * it always says the same, its message. The README's table lists the same codes.
 */
export const ProducerErrors = {
  BAD_REQUEST: explained('BAD_REQUEST', 400),
  INVALID_JSON: explained('INVALID_JSON', 400),
  INVALID_ENCODING: explained('INVALID_ENCODING', 400),
  RECORD_NOT_OBJECT: explained('RECORD_NOT_OBJECT', 400),
  INVALID_RECORD_ID: explained('INVALID_RECORD_ID', 400),
  RESERVED_ATTRIBUTE: explained('RESERVED_ATTRIBUTE', 400),
  RECORD_NOT_STORABLE: explained('RECORD_NOT_STORABLE', 400),
  UNAUTHORIZED: fixed('UNAUTHORIZED', 401, 'a valid API key is needed: Authorization: Bearer <key>'),
  NOT_FOUND: NotFoundError,
  REQUEST_TIMEOUT: fixed('REQUEST_TIMEOUT', 408, 'the request was not received in time'),
  PAYLOAD_TOO_LARGE: fixed('PAYLOAD_TOO_LARGE', 413, 'the body is larger than a record may be'),
  BATCH_TOO_LARGE: BatchTooLargeError,
  UNSUPPORTED_MEDIA_TYPE: explained('UNSUPPORTED_MEDIA_TYPE', 415),
  HEADERS_TOO_LARGE: fixed('HEADERS_TOO_LARGE', 431, 'the request headers are too large'),
  KMS_UNAVAILABLE: fixed('KMS_UNAVAILABLE', 503, 'the key service is unavailable; retry later'),
  KMS_TIMEOUT: fixed('KMS_TIMEOUT', 503, 'the key service did not answer within the request budget; retry later'),
  ENCRYPTION_UNAVAILABLE: fixed(
    'ENCRYPTION_UNAVAILABLE',
    503,
    'the encryption worker did not return the record; retry with the same id',
  ),
  COMMIT_WAIT_TIMEOUT: fixed(
    'COMMIT_WAIT_TIMEOUT',
    503,
    'the request budget ran out while the answer waited out the clock-skew bound; retry with the same id',
  ),
  STREAM_UNAVAILABLE: StreamUnavailableError,
  OVERLOADED: fixed('OVERLOADED', 503, OVERLOADED_MESSAGE),
  NOT_READY: explained('NOT_READY', 503),
  CLOCK_SKEWED: fixed(
    'CLOCK_SKEWED',
    503,
    "this producer's clock is further from the streams' than MAX_CLOCK_SKEW_MS allows; retry later or elsewhere",
  ),
  INTERNAL_ERROR: fixed('INTERNAL_ERROR', 500, 'internal error'),
} as const;

export type ProducerErrorCode = keyof typeof ProducerErrors;

export function isProducerErrorCode(code: unknown): code is ProducerErrorCode {
  return typeof code === 'string' && Object.hasOwn(ProducerErrors, code);
}

/** `id` is present but not an id the producer takes. */
export const InvalidRecordIdError = ProducerErrors.INVALID_RECORD_ID;

/** The body's media type or charset is not JSON in UTF-8. */
export const UnsupportedMediaTypeError = ProducerErrors.UNSUPPORTED_MEDIA_TYPE;

/**
 * The producer's clock is proven too far from its streams' for its versions to order writes (see
 * ClockSkewMonitor): it takes no record until a later check finds it within the bound again.
 */
export class ClockSkewedError extends ProducerErrors.CLOCK_SKEWED {
  constructor(retryAfterMs: number) {
    super({ retryAfterMs });
  }
}

import { PipelineError } from '@records/errors';

/** Base class for every error the data key cache raises on purpose; branch on `code`. */
export class DataKeyCacheError extends PipelineError {}

/** The cache options are outside the accepted bounds. */
export class DataKeyCacheOptionsError extends DataKeyCacheError {
  readonly option: string;

  constructor(option: string, message: string) {
    super('DATA_KEY_CACHE_OPTIONS_INVALID', `${option}: ${message}`);
    this.option = option;
  }
}

/**
 * A data key could not be obtained from KMS, now or within the current back-off window. Every
 * request that waited on the failed KMS call receives this error. The message hides internals;
 * the KMS error is kept as `cause` for logs.
 */
export class KmsUnavailableError extends DataKeyCacheError {
  /** How long, from when the error was raised, new misses for the same key fail fast. */
  readonly retryAfterMs: number;
  /**
   * True when no KMS call was made for this request: it failed fast inside the back-off window of
   * an earlier failure. Says nothing new about the record, so a consumer retries rather than
   * dead-letters it.
   */
  readonly backedOff: boolean;

  constructor(options: { cause: unknown; retryAfterMs: number; backedOff?: boolean }) {
    super('KMS_UNAVAILABLE', 'A data key could not be obtained from KMS; try again later', { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
    this.backedOff = options.backedOff ?? false;
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';

export interface RetryOptions {
  /** Tries in all, the first one included; `Infinity` tries until it succeeds or `signal` aborts. */
  readonly attempts: number;
  /** The wait before the second try; each later wait doubles, with jitter, up to `maxDelayMs`. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** No try starts after this long from the first, and no wait runs past it. Default: no bound. */
  readonly maxRetryTimeMs?: number;
  /** Ends the waiting and the trying at once; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** False for a failure that trying again cannot mend: it is thrown at once. Default: every failure is retried. */
  readonly shouldRetry?: (error: unknown) => boolean;
  /** Told of each failure that will be tried again, before the wait. */
  readonly onRetry?: (error: unknown, attempt: number) => void;
}

/** Carries a failure to be retried through p-retry, which would give up at once on a TypeError. */
class RetryableFailure extends Error {
  readonly failure: unknown;

  constructor(failure: unknown) {
    super('retryable failure');
    this.failure = failure;
  }
}

/**
 * The one retry mechanism of the pipeline: exponential back-off with jitter, bounded by attempts
 * and by an AbortSignal, on p-retry. What finally fails is thrown as the action threw it.
 */
export async function retry<T>(action: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  try {
    return await pRetry(
      async (attempt) => {
        try {
          return await action(attempt);
        } catch (error) {
          if (options.shouldRetry !== undefined && !options.shouldRetry(error)) {
            throw new AbortError(new RetryableFailure(error));
          }
          throw new RetryableFailure(error);
        }
      },
      {
        retries: options.attempts - 1,
        factor: 2,
        minTimeout: options.minDelayMs,
        maxTimeout: options.maxDelayMs,
        randomize: true,
        ...(options.maxRetryTimeMs === undefined ? {} : { maxRetryTime: options.maxRetryTimeMs }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft > 0 && error instanceof RetryableFailure) options.onRetry?.(error.failure, attemptNumber);
        },
      },
    );
  } catch (error) {
    throw error instanceof RetryableFailure ? error.failure : error;
  }
}

/** Waits `ms`, or less when `signal` aborts; never throws. For polling waits, not for retries. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await sleep(ms, undefined, signal === undefined ? undefined : { signal }).catch(() => {});
}

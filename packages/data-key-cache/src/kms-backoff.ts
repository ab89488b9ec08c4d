import { LRUCache } from 'lru-cache';

export interface BackoffOptions {
  /** The first window after a failure is between half of this and all of it. */
  readonly baseMs: number;
  /** No window is longer than this, however many failures in a row. */
  readonly maxMs: number;
}

interface FailureState {
  failures: number;
  until: number;
  cause: unknown;
}

/**
 * Per cache key, how long new misses fail fast after a failed KMS call. Each failure in a row
 * doubles the window up to `maxMs`; the window is jittered (half fixed, half random) so keys and
 * processes do not retry in step. A success forgets the failures.
 */
export class KmsBackoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  readonly #states: LRUCache<string, FailureState>;

  constructor(options: BackoffOptions & { readonly capacity: number; readonly random?: () => number }) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#states = new LRUCache({ max: options.capacity });
  }

  /** Milliseconds left in the key's window, 0 when a KMS call may be made. */
  remainingMs(cacheKey: string, now: number): number {
    const state = this.#states.get(cacheKey);
    return state === undefined ? 0 : Math.max(0, state.until - now);
  }

  /** The error that opened the key's current window. */
  lastCause(cacheKey: string): unknown {
    return this.#states.get(cacheKey)?.cause;
  }

  /** Opens (or widens) the key's window and returns its length. */
  recordFailure(cacheKey: string, now: number, cause: unknown): number {
    const state = this.#states.get(cacheKey) ?? { failures: 0, until: now, cause };
    state.failures += 1;
    state.cause = cause;
    const ceiling = Math.min(this.#options.maxMs, this.#options.baseMs * 2 ** (state.failures - 1));
    const windowMs = Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
    state.until = now + windowMs;
    this.#states.set(cacheKey, state);
    return windowMs;
  }

  recordSuccess(cacheKey: string): void {
    this.#states.delete(cacheKey);
  }
}

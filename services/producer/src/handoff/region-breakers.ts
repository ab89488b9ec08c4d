import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import { UncountedCallAbortError } from '../put-records-batcher.js';

export interface RegionBreakerOptions {
  /** PutRecords calls in a row that failed (or timed out) before the region's breaker opens. */
  readonly failures: number;
  /** How long an open breaker waits before a hand-off delivery may probe the region again. */
  readonly probeAfterMs: number;
  /** Told of every change, for the gauge and the log. */
  readonly onChange?: (region: string, open: boolean) => void;
}

export { BrokenCircuitError };

/**
 * A circuit breaker per region stream (cockatiel's), around each PutRecords call. While a region's
 * breaker is closed, records are put to it and each failed call counts; once `failures` fail in a
 * row it opens, and records go to hand-off at once instead of waiting out a region that keeps
 * failing. While another region takes records, client records never probe it: only the repairer's
 * deliveries do, half-open, one at a time, so no client waits on a probe. The first call that
 * succeeds closes it again.
 */
export class RegionBreakers {
  readonly #options: RegionBreakerOptions;
  readonly #breakers = new Map<string, CircuitBreakerPolicy>();

  constructor(options: RegionBreakerOptions) {
    this.#options = options;
  }

  #breaker(region: string): CircuitBreakerPolicy {
    let breaker = this.#breakers.get(region);
    if (breaker === undefined) {
      // A call cut off before the stream had a fair chance to answer says nothing of the stream.
      breaker = circuitBreaker(
        handleWhen((error) => !(error instanceof UncountedCallAbortError)),
        {
          halfOpenAfter: this.#options.probeAfterMs,
          breaker: new ConsecutiveBreaker(this.#options.failures),
        },
      );
      breaker.onStateChange((state) => {
        if (state === CircuitState.Open || state === CircuitState.Closed)
          this.#options.onChange?.(region, state === CircuitState.Open);
      });
      this.#breakers.set(region, breaker);
    }
    return breaker;
  }

  /** True while client records should not be put to the region: open, or probing. */
  isOpen(region: string): boolean {
    return this.#breaker(region).state !== CircuitState.Closed;
  }

  /** Runs a put through the region's breaker; throws BrokenCircuitError at once while it is open. */
  execute<T>(region: string, put: () => Promise<T>): Promise<T> {
    return this.#breaker(region).execute(put);
  }
}

import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
} from 'cockatiel';

export interface RegionBreakerOptions {
  /** Records in a row whose put to a region failed before its breaker opens. */
  readonly failures: number;
  /** How long an open breaker waits before a hand-off delivery may probe the region again. */
  readonly probeAfterMs: number;
  /** Told of every change, for the gauge and the log. */
  readonly onChange?: (region: string, open: boolean) => void;
}

export { BrokenCircuitError };

/**
 * A circuit breaker per region stream (cockatiel's). While a region's breaker is closed, records
 * are put to it and each failed record counts; once `failures` fail in a row it opens, and records
 * go to hand-off at once instead of waiting out a region that keeps failing. Client records never
 * probe it: only the repairer's deliveries do, half-open, one at a time, so no client waits on a
 * probe. The first delivery that succeeds closes it again.
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
      breaker = circuitBreaker(handleAll, {
        halfOpenAfter: this.#options.probeAfterMs,
        breaker: new ConsecutiveBreaker(this.#options.failures),
      });
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

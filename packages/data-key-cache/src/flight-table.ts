/**
 * KMS calls in progress, by cache key. A miss starts a call only when none is in progress for its
 * cache key (single flight); refresh-ahead may run several at once. A flight leaves the table
 * before anyone awaiting it resumes, so a waiter that finds the new key already spent starts (or
 * joins) the next flight instead of looping on a finished one.
 */
export class FlightTable<T> {
  readonly #flights = new Map<string, Set<Promise<T>>>();

  /** KMS calls in progress for `cacheKey`. */
  inFlight(cacheKey: string): number {
    return this.#flights.get(cacheKey)?.size ?? 0;
  }

  /** Settles with the first flight for `cacheKey` to land, or undefined when none is in progress. */
  next(cacheKey: string): Promise<T> | undefined {
    const flights = this.#flights.get(cacheKey);
    if (flights === undefined) return undefined;
    return flights.size === 1 ? [...flights][0] : Promise.race(flights);
  }

  start(cacheKey: string, task: () => Promise<T>): Promise<T> {
    let flights = this.#flights.get(cacheKey);
    if (flights === undefined) {
      flights = new Set();
      this.#flights.set(cacheKey, flights);
    }
    const table = flights;
    // The task starts on the next microtask, so a task that throws synchronously still finds its
    // flight registered and removes it.
    const flight: Promise<T> = Promise.resolve()
      .then(task)
      .finally(() => {
        table.delete(flight);
        if (table.size === 0 && this.#flights.get(cacheKey) === table) this.#flights.delete(cacheKey);
      });
    // A flight nobody awaits (refresh-ahead) must not surface as an unhandled rejection.
    flight.catch(() => {});
    table.add(flight);
    return flight;
  }

  /** Resolves once no flight is in progress, including flights started while waiting. */
  async idle(): Promise<void> {
    while (this.#flights.size > 0) await Promise.allSettled([...this.#flights.values()].flatMap((set) => [...set]));
  }
}

/**
 * KMS calls in progress, one per cache key: the single-flight table. A flight leaves the table
 * before anyone awaiting it resumes, so a waiter that finds the new key already spent starts (or
 * joins) the next flight instead of looping on a finished one.
 */
export class FlightTable<T> {
  readonly #flights = new Map<string, Promise<T>>();

  get(cacheKey: string): Promise<T> | undefined {
    return this.#flights.get(cacheKey);
  }

  start(cacheKey: string, task: () => Promise<T>): Promise<T> {
    // The task starts on the next microtask, so a task that throws synchronously still finds its
    // flight registered and removes it.
    const flight: Promise<T> = Promise.resolve()
      .then(task)
      .finally(() => {
        if (this.#flights.get(cacheKey) === flight) this.#flights.delete(cacheKey);
      });
    // A flight nobody awaits (refresh-ahead) must not surface as an unhandled rejection.
    flight.catch(() => {});
    this.#flights.set(cacheKey, flight);
    return flight;
  }

  /** Resolves once no flight is in progress, including flights started while waiting. */
  async idle(): Promise<void> {
    while (this.#flights.size > 0) await Promise.allSettled([...this.#flights.values()]);
  }
}

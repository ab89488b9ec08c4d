/** KMS calls remembered: enough to catch the slow tail, few enough to forget a passing stall. */
export const LATENCY_WINDOW = 16;

/**
 * How long KMS takes to hand over a data key on one side of the cache (GenerateDataKey and the
 * other regions' Encrypt, or Decrypt): the slowest of the last `LATENCY_WINDOW` successful calls.
 * The slow calls are the ones a key fetched ahead has to outlast, so a mean would not do.
 */
export class KmsLatency {
  readonly #recent: number[] = [];

  record(ms: number): void {
    this.#recent.push(Math.max(0, ms));
    if (this.#recent.length > LATENCY_WINDOW) this.#recent.shift();
  }

  /** 0 until a call has been measured. */
  get ms(): number {
    return this.#recent.length === 0 ? 0 : Math.max(...this.#recent);
  }
}

/** Weight of the newest call: about the last four calls count. */
const WEIGHT = 0.25;

/**
 * How long KMS takes to hand over a data key on one side of the cache (GenerateDataKey and the
 * other regions' Encrypt, or Decrypt): an exponentially weighted mean of recent successful calls.
 */
export class KmsLatency {
  #ms: number | undefined;

  record(ms: number): void {
    const sample = Math.max(0, ms);
    this.#ms = this.#ms === undefined ? sample : this.#ms + WEIGHT * (sample - this.#ms);
  }

  /** 0 until a call has been measured. */
  get ms(): number {
    return this.#ms ?? 0;
  }
}

import type { UsageLeft } from './data-key-entry.js';

/** Requests the pace is measured over: enough to smooth bursts, few enough to follow a change. */
export const PACE_WINDOW = 16;

const lasting = (units: number, msPerUnit: number) => (units === Infinity ? Infinity : units * msPerUnit);

/**
 * How fast one cache key's data keys are used: the time between its last `PACE_WINDOW` requests
 * and their average plaintext size. A burst after a pause is measured correctly again once the
 * pause has left the window.
 */
export class UsagePace {
  readonly #arrivals = new Float64Array(PACE_WINDOW);
  readonly #sizes = new Float64Array(PACE_WINDOW);
  #count = 0;
  #bytes = 0;

  /** Counts one request for `bytes` of plaintext arriving at `now`. */
  record(bytes: number, now: number): void {
    const slot = this.#count % PACE_WINDOW;
    this.#bytes += bytes - (this.#count >= PACE_WINDOW ? (this.#sizes[slot] ?? 0) : 0);
    this.#arrivals[slot] = now;
    this.#sizes[slot] = bytes;
    this.#count += 1;
  }

  /** Milliseconds between requests, undefined until two have arrived. */
  get msPerMessage(): number | undefined {
    const held = Math.min(this.#count, PACE_WINDOW);
    if (held < 2) return undefined;
    const newest = this.#arrivals[(this.#count - 1) % PACE_WINDOW] ?? 0;
    const oldest = this.#arrivals[(this.#count - held) % PACE_WINDOW] ?? 0;
    return Math.max(0, newest - oldest) / (held - 1);
  }

  /**
   * How long `left` lasts at this pace: the first bound to run out. Only the age bound is known
   * before the pace is.
   */
  lastsMs(left: UsageLeft): number {
    const msPerMessage = this.msPerMessage;
    if (msPerMessage === undefined) return left.ageMs;
    const bytesPerMessage = this.#bytes / Math.min(this.#count, PACE_WINDOW);
    const byMessages = lasting(left.messages, msPerMessage);
    const byBytes = bytesPerMessage > 0 ? lasting(left.bytes / bytesPerMessage, msPerMessage) : Infinity;
    return Math.min(byMessages, byBytes, left.ageMs);
  }
}

/** Why a data key left the cache. `capacity` means the least recently used key made room. */
export type EvictionReason = 'age' | 'messages' | 'bytes' | 'capacity';

/** The security bounds of one cached data key, and when to fetch its successor. */
export interface UsageBounds {
  readonly maxAgeMs: number;
  readonly maxMessages: number;
  readonly maxBytes: number;
  /** Share of any bound at which the next data key is fetched; undefined when refresh-ahead is off. */
  readonly refreshAheadAt: number | undefined;
}

export type Reservation =
  | {
      readonly granted: true;
      /** The key has reached the refresh-ahead share of one of its bounds. */
      readonly refreshDue: boolean;
      /** The key has no use left: this reservation took the last message or byte. */
      readonly spent: 'messages' | 'bytes' | undefined;
    }
  | { readonly granted: false; readonly reason: 'age' | 'messages' | 'bytes' };

/**
 * One data key in the cache with what it has been used for so far. The material is the cached
 * copy: callers get clones, and this copy is zeroed when the entry leaves the cache.
 */
export class DataKeyEntry<M> {
  readonly material: M;
  /** When the data key was obtained from KMS, in clock milliseconds. */
  readonly createdAt: number;
  #messages = 0;
  #bytes = 0;

  constructor(material: M, createdAt: number) {
    this.material = material;
    this.createdAt = createdAt;
  }

  get messages(): number {
    return this.#messages;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Counts one more message of `bytes` against the bounds, or refuses it. Check and count happen in
   * one synchronous step, so concurrent requests can never take a key past a bound.
   */
  reserve(bytes: number, now: number, bounds: UsageBounds): Reservation {
    const age = now - this.createdAt;
    if (age > bounds.maxAgeMs) return { granted: false, reason: 'age' };
    if (this.#messages + 1 > bounds.maxMessages) return { granted: false, reason: 'messages' };
    if (this.#bytes + bytes > bounds.maxBytes) return { granted: false, reason: 'bytes' };
    this.#messages += 1;
    this.#bytes += bytes;
    const share = bounds.refreshAheadAt;
    const refreshDue =
      share !== undefined &&
      (this.#messages >= share * bounds.maxMessages ||
        this.#bytes >= share * bounds.maxBytes ||
        age >= share * bounds.maxAgeMs);
    const spent =
      this.#messages >= bounds.maxMessages ? 'messages' : this.#bytes >= bounds.maxBytes ? 'bytes' : undefined;
    return { granted: true, refreshDue, spent };
  }

  isExpired(now: number, bounds: UsageBounds): boolean {
    return now - this.createdAt > bounds.maxAgeMs;
  }
}

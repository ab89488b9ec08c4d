/** Why a data key left the cache. `capacity` means the least recently used key made room. */
export type EvictionReason = 'age' | 'messages' | 'bytes' | 'capacity';

/** The security bounds of one cached data key. */
export interface UsageBounds {
  readonly maxAgeMs: number;
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/** What is left of each bound of a data key. */
export interface UsageLeft {
  readonly messages: number;
  readonly bytes: number;
  readonly ageMs: number;
}

export type Reservation =
  | {
      readonly granted: true;
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
    if (now - this.createdAt > bounds.maxAgeMs) return { granted: false, reason: 'age' };
    if (this.#messages + 1 > bounds.maxMessages) return { granted: false, reason: 'messages' };
    if (this.#bytes + bytes > bounds.maxBytes) return { granted: false, reason: 'bytes' };
    this.#messages += 1;
    this.#bytes += bytes;
    const spent =
      this.#messages >= bounds.maxMessages ? 'messages' : this.#bytes >= bounds.maxBytes ? 'bytes' : undefined;
    return { granted: true, spent };
  }

  /** True once `share` of any bound (messages, bytes, age) is used. */
  hasUsed(share: number, now: number, bounds: UsageBounds): boolean {
    return (
      this.#messages >= share * bounds.maxMessages ||
      this.#bytes >= share * bounds.maxBytes ||
      now - this.createdAt >= share * bounds.maxAgeMs
    );
  }

  left(now: number, bounds: UsageBounds): UsageLeft {
    return {
      messages: bounds.maxMessages - this.#messages,
      bytes: bounds.maxBytes - this.#bytes,
      ageMs: Math.max(0, bounds.maxAgeMs - (now - this.createdAt)),
    };
  }

  isExpired(now: number, bounds: UsageBounds): boolean {
    return now - this.createdAt > bounds.maxAgeMs;
  }
}

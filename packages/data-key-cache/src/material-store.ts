import { LRUCache } from 'lru-cache';
import { DataKeyEntry, type EvictionReason, type UsageBounds } from './data-key-entry.js';

/** What the store needs from cached material: a way to copy it out and to wipe the data key. */
export interface ZeroableMaterial {
  zeroUnencryptedDataKey(): unknown;
}

export interface MaterialStoreOptions<M extends ZeroableMaterial> {
  readonly capacity: number;
  readonly bounds: UsageBounds;
  /** Copies material for a caller; the SDK zeroes what it is given after each message. */
  readonly clone: (material: M) => M;
  readonly onAdded: () => void;
  readonly onRemoved: (entry: DataKeyEntry<M>, reason: EvictionReason | undefined) => void;
}

export interface ServedMaterial<M> {
  readonly material: M;
  /** The entry reached its refresh-ahead point and no successor is waiting yet. */
  readonly refreshDue: boolean;
}

/** The key in use and the one fetched ahead to follow it. */
interface Slot<M> {
  current: DataKeyEntry<M> | undefined;
  next: DataKeyEntry<M> | undefined;
}

/**
 * Data keys by cache key, least recently used first out. Every entry that leaves, for whatever
 * reason, is zeroed; an entry is removed the moment it reaches a bound so no key outlives its use.
 */
export class MaterialStore<M extends ZeroableMaterial> {
  readonly #options: MaterialStoreOptions<M>;
  readonly #slots: LRUCache<string, Slot<M>>;

  constructor(options: MaterialStoreOptions<M>) {
    this.#options = options;
    this.#slots = new LRUCache<string, Slot<M>>({
      max: options.capacity,
      dispose: (slot, _key, reason) => this.#empty(slot, reason === 'evict' ? 'capacity' : undefined),
    });
  }

  /** Takes one message of `bytes` from the key cached under `cacheKey`, or returns undefined. */
  reserve(cacheKey: string, bytes: number, now: number): ServedMaterial<M> | undefined {
    const slot = this.#slots.get(cacheKey);
    if (slot === undefined) return undefined;
    for (;;) {
      if (slot.current === undefined) {
        slot.current = slot.next;
        slot.next = undefined;
      }
      const entry = slot.current;
      if (entry === undefined) {
        this.#slots.delete(cacheKey);
        return undefined;
      }
      const reservation = entry.reserve(bytes, now, this.#options.bounds);
      if (!reservation.granted) {
        slot.current = undefined;
        this.#retire(entry, reservation.reason);
        continue;
      }
      const material = this.#options.clone(entry.material);
      if (reservation.spent !== undefined) {
        slot.current = undefined;
        this.#retire(entry, reservation.spent);
        if (slot.next === undefined) this.#slots.delete(cacheKey);
      }
      return { material, refreshDue: reservation.refreshDue && slot.next === undefined };
    }
  }

  /**
   * Adds a data key fresh from KMS: it serves at once when the key has none in use, otherwise it
   * waits as the successor. A key that finds both places taken is zeroed and dropped.
   */
  install(cacheKey: string, material: M, now: number): void {
    const entry = new DataKeyEntry(material, now);
    const slot = this.#slots.get(cacheKey);
    if (slot === undefined) {
      this.#options.onAdded();
      this.#slots.set(cacheKey, { current: entry, next: undefined });
      return;
    }
    if (slot.current === undefined) {
      slot.current = slot.next;
      slot.next = undefined;
    }
    if (slot.current !== undefined && slot.next !== undefined) {
      material.zeroUnencryptedDataKey();
      return;
    }
    this.#options.onAdded();
    if (slot.current === undefined) slot.current = entry;
    else slot.next = entry;
  }

  /** Removes every key past its maximum age, used or not. */
  evictExpired(now: number): void {
    for (const [cacheKey, slot] of [...this.#slots.entries()]) {
      for (const place of ['current', 'next'] as const) {
        const entry = slot[place];
        if (entry?.isExpired(now, this.#options.bounds)) {
          slot[place] = undefined;
          this.#retire(entry, 'age');
        }
      }
      if (slot.current === undefined && slot.next === undefined) this.#slots.delete(cacheKey);
    }
  }

  /** Zeroes and drops every key. */
  clear(): void {
    this.#slots.clear();
  }

  #empty(slot: Slot<M>, reason: EvictionReason | undefined): void {
    for (const entry of [slot.current, slot.next]) if (entry !== undefined) this.#retire(entry, reason);
    slot.current = undefined;
    slot.next = undefined;
  }

  #retire(entry: DataKeyEntry<M>, reason: EvictionReason | undefined): void {
    entry.material.zeroUnencryptedDataKey();
    this.#options.onRemoved(entry, reason);
  }
}

import { LRUCache } from 'lru-cache';
import { DataKeyEntry, type EvictionReason, type UsageBounds } from './data-key-entry.js';
import { DataKeyQueue, type ZeroableMaterial } from './data-key-queue.js';
import type { UsagePace } from './usage-pace.js';

export type { ZeroableMaterial } from './data-key-queue.js';

export interface MaterialStoreOptions<M extends ZeroableMaterial> {
  readonly capacity: number;
  readonly bounds: UsageBounds;
  /** Keys held per cache key, the one in use included. */
  readonly maxKeysPerCacheKey: number;
  /** Copies material for a caller; the SDK zeroes what it is given after each message. */
  readonly clone: (material: M) => M;
  readonly onAdded: () => void;
  readonly onRemoved: (entry: DataKeyEntry<M>, reason: EvictionReason | undefined) => void;
}

export interface ServedMaterial<M> {
  readonly material: M;
  /** The key that served has reached `share` of one of its bounds. */
  readonly shareReached: boolean;
  /** Keys held behind the one in use. */
  readonly ready: number;
}

/**
 * Data keys by cache key, least recently used cache key first out. Every key that leaves, for
 * whatever reason, is zeroed; a key is removed the moment it reaches a bound so none outlives its
 * use.
 */
export class MaterialStore<M extends ZeroableMaterial> {
  readonly #options: MaterialStoreOptions<M>;
  readonly #queues: LRUCache<string, DataKeyQueue<M>>;
  readonly #retire = (entry: DataKeyEntry<M>, reason: EvictionReason | undefined) => {
    entry.material.zeroUnencryptedDataKey();
    this.#options.onRemoved(entry, reason);
  };

  constructor(options: MaterialStoreOptions<M>) {
    this.#options = options;
    this.#queues = new LRUCache<string, DataKeyQueue<M>>({
      max: options.capacity,
      dispose: (queue, _key, reason) => queue.empty(reason === 'evict' ? 'capacity' : undefined),
    });
  }

  /**
   * Takes one message of `bytes` from the keys cached under `cacheKey`, or returns undefined.
   * `share` is the refresh-ahead share to report on.
   */
  reserve(cacheKey: string, bytes: number, now: number, share = 1): ServedMaterial<M> | undefined {
    const queue = this.#queues.get(cacheKey);
    if (queue === undefined) return undefined;
    const { bounds, clone } = this.#options;
    const served = queue.reserve(bytes, now, bounds, clone);
    if (queue.size === 0) this.#queues.delete(cacheKey);
    if (served === undefined) return undefined;
    return {
      material: served.material,
      shareReached: served.entry.hasUsed(share, now, bounds),
      ready: served.spent ? queue.size : queue.size - 1,
    };
  }

  /** How long the keys under `cacheKey` last at `pace`, and how long a fresh key would. */
  outlook(cacheKey: string, now: number, pace: UsagePace): { coverMs: number; freshKeyMs: number } {
    const { bounds } = this.#options;
    return {
      coverMs: this.#queues.peek(cacheKey)?.coverMs(now, bounds, pace) ?? 0,
      freshKeyMs: pace.lastsMs({ messages: bounds.maxMessages, bytes: bounds.maxBytes, ageMs: bounds.maxAgeMs }),
    };
  }

  /**
   * Adds a data key fresh from KMS behind those already held: it serves at once when none is.
   * A key that finds its cache key full is zeroed and dropped.
   */
  install(cacheKey: string, material: M, now: number): void {
    let queue = this.#queues.get(cacheKey);
    if (queue === undefined) {
      queue = new DataKeyQueue<M>(this.#retire);
      this.#queues.set(cacheKey, queue);
    }
    if (queue.size >= this.#options.maxKeysPerCacheKey) {
      material.zeroUnencryptedDataKey();
      return;
    }
    this.#options.onAdded();
    queue.add(new DataKeyEntry(material, now));
  }

  /** Removes every key past its maximum age, in use or waiting. */
  evictExpired(now: number): void {
    for (const [cacheKey, queue] of [...this.#queues.entries()]) {
      queue.evictExpired(now, this.#options.bounds);
      if (queue.size === 0) this.#queues.delete(cacheKey);
    }
  }

  /** Zeroes and drops every key. */
  clear(): void {
    this.#queues.clear();
  }
}

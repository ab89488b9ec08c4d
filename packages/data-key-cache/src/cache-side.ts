import { PipelineError } from '@records/errors';
import { LRUCache } from 'lru-cache';
import type { UsageBounds } from './data-key-entry.js';
import { KmsUnavailableError } from './errors.js';
import { FlightTable } from './flight-table.js';
import { type BackoffOptions, KmsBackoff } from './kms-backoff.js';
import { KmsLatency } from './kms-latency.js';
import { MaterialStore, type ServedMaterial, type ZeroableMaterial } from './material-store.js';
import type { CacheOperation, DataKeyCacheMetrics } from './metrics.js';
import type { CacheRequestEvent, DataKeyCacheLogger } from './options.js';
import { keysToFetch, type RefreshAheadPlan } from './refresh-ahead.js';
import { UsagePace } from './usage-pace.js';

/** Material as the cache sees it: it can be wiped, and its suite says whether it may be cached. */
export interface CacheableMaterial extends ZeroableMaterial {
  readonly suite: { readonly cacheSafe: boolean };
}

export interface CacheSideOptions<M extends CacheableMaterial> {
  readonly operation: CacheOperation;
  readonly capacity: number;
  readonly bounds: UsageBounds;
  /** Undefined when refresh-ahead is off. */
  readonly refreshAhead: RefreshAheadPlan | undefined;
  readonly clone: (material: M) => M;
  readonly backoff: BackoffOptions;
  readonly clock: () => number;
  readonly metrics: DataKeyCacheMetrics;
  readonly logger: DataKeyCacheLogger | undefined;
  readonly onRequest: ((event: CacheRequestEvent) => void) | undefined;
}

/**
 * One side of the cache (encrypt or decrypt): cached data keys, the KMS calls in flight and the
 * back-off windows, all by cache key. A flight returns material only when it may not be cached;
 * then it belongs to the request that started the flight.
 */
export class CacheSide<M extends CacheableMaterial> {
  readonly #options: CacheSideOptions<M>;
  readonly #store: MaterialStore<M>;
  readonly #flights = new FlightTable<M | undefined>();
  readonly #backoff: KmsBackoff;
  readonly #latency = new KmsLatency();
  readonly #paces: LRUCache<string, UsagePace>;

  constructor(options: CacheSideOptions<M>) {
    this.#options = options;
    const { operation, metrics } = options;
    this.#store = new MaterialStore<M>({
      capacity: options.capacity,
      bounds: options.bounds,
      maxKeysPerCacheKey: 1 + (options.refreshAhead?.maxKeysAhead ?? 1),
      clone: options.clone,
      onAdded: () => metrics.entryAdded(operation),
      onRemoved: (entry, reason) => metrics.entryRemoved(operation, entry.messages, reason),
    });
    this.#backoff = new KmsBackoff({ ...options.backoff, capacity: options.capacity });
    this.#paces = new LRUCache({ max: options.capacity });
  }

  /**
   * Serves one message of `bytes` from the data keys cached under `cacheKey`. On a miss it starts
   * the KMS call, or waits on one in flight, then tries again: when the new key is spent before
   * this request's turn, the request starts or joins the next flight.
   */
  async serve(cacheKey: string, bytes: number, fetch: () => Promise<M>): Promise<M> {
    let started = false;
    let waited = false;
    let refreshed = false;
    let backedOff = false;
    this.#paceOf(cacheKey)?.record(bytes, this.#options.clock());
    try {
      for (;;) {
        const now = this.#options.clock();
        const served = this.#store.reserve(cacheKey, bytes, now, this.#options.refreshAhead?.share);
        if (served !== undefined) {
          refreshed = this.#refreshAhead(cacheKey, served, now, fetch);
          return served.material;
        }
        let flight = this.#flights.next(cacheKey);
        const own = flight === undefined;
        if (flight === undefined) {
          const retryAfterMs = this.#backoff.remainingMs(cacheKey, now);
          if (retryAfterMs > 0) {
            backedOff = true;
            throw new KmsUnavailableError({ cause: this.#backoff.lastCause(cacheKey), retryAfterMs, backedOff: true });
          }
          flight = this.#fly(cacheKey, now, fetch);
          started = true;
        } else {
          waited = true;
        }
        const uncacheable = await flight;
        if (own && uncacheable !== undefined) return uncacheable;
      }
    } finally {
      const result = started ? 'miss' : waited ? 'coalesced' : backedOff ? 'backoff' : refreshed ? 'refresh' : 'hit';
      if (result !== 'backoff') this.#options.metrics.request(this.#options.operation, result);
      this.#options.onRequest?.({ operation: this.#options.operation, result });
    }
  }

  /** Resolves once no KMS call of this side is in progress. */
  idle(): Promise<void> {
    return this.#flights.idle();
  }

  evictExpired(): void {
    this.#store.evictExpired(this.#options.clock());
  }

  clear(): void {
    this.#store.clear();
  }

  #paceOf(cacheKey: string): UsagePace | undefined {
    if (this.#options.refreshAhead === undefined) return undefined;
    let pace = this.#paces.get(cacheKey);
    if (pace === undefined) {
      pace = new UsagePace();
      this.#paces.set(cacheKey, pace);
    }
    return pace;
  }

  /** Starts fetching the keys the plan asks for; true when it started any. */
  #refreshAhead(cacheKey: string, served: ServedMaterial<M>, now: number, fetch: () => Promise<M>): boolean {
    const plan = this.#options.refreshAhead;
    const pace = this.#paces.peek(cacheKey);
    if (plan === undefined || pace === undefined || this.#backoff.remainingMs(cacheKey, now) > 0) return false;
    const due = keysToFetch(plan, {
      shareReached: served.shareReached,
      ready: served.ready,
      inFlight: this.#flights.inFlight(cacheKey),
      latencyMs: this.#latency.ms,
      ...this.#store.outlook(cacheKey, now, pace),
    });
    if (due === 0) return false;
    this.#options.logger?.debug({ operation: this.#options.operation, keys: due }, 'fetching data keys ahead');
    for (let call = 0; call < due; call++) {
      // Nobody waits for material this flight could not cache: wipe it.
      this.#fly(cacheKey, now, fetch).then(
        (uncacheable) => uncacheable?.zeroUnencryptedDataKey(),
        () => {},
      );
    }
    return true;
  }

  #fly(cacheKey: string, now: number, fetch: () => Promise<M>): Promise<M | undefined> {
    // Each KMS call is also the moment to drop keys that aged out unused.
    this.#store.evictExpired(now);
    return this.#flights.start(cacheKey, async () => {
      let material: M;
      try {
        material = await fetch();
      } catch (error) {
        // The backing manager already judged this the request's own fault (a key it can never
        // unwrap): not a KMS failure, so no back-off window for the next request.
        if (error instanceof PipelineError && !(error instanceof KmsUnavailableError)) throw error;
        const retryAfterMs = this.#backoff.recordFailure(cacheKey, this.#options.clock(), error);
        this.#options.metrics.kmsFailure(this.#options.operation);
        this.#options.logger?.warn(
          { operation: this.#options.operation, retryAfterMs, err: error },
          'a data key could not be obtained from KMS',
        );
        throw new KmsUnavailableError({ cause: error, retryAfterMs });
      }
      const landed = this.#options.clock();
      this.#latency.record(landed - now);
      this.#backoff.recordSuccess(cacheKey);
      if (!material.suite.cacheSafe) return material;
      this.#store.install(cacheKey, material, landed);
      return undefined;
    });
  }
}

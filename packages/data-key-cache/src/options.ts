import type { KeyringNode, NodeMaterialsManager } from '@aws-crypto/client-node';
import type { BackoffOptions } from './kms-backoff.js';
import type { CacheOperation, CacheResult, DataKeyCacheMetrics } from './metrics.js';

type LogFn = (details: Record<string, unknown>, message: string) => void;

/** The part of a pino logger the cache uses. */
export interface DataKeyCacheLogger {
  readonly debug: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

/**
 * How one materials request was served. Besides the metric's results: `bypass` (not cacheable:
 * no plaintext length, larger than `maxBytes`, or a suite that must not be cached) and `backoff`
 * (failed fast inside a back-off window).
 */
export interface CacheRequestEvent {
  readonly operation: CacheOperation;
  readonly result: CacheResult | 'bypass' | 'backoff';
}

/**
 * Refresh-ahead that follows the load. Per cache key the cache measures the pace of requests
 * (messages and bytes over the last 16) and, per operation, how long KMS takes to return a key
 * (the slowest of the last 16 calls). Keys are fetched ahead while the keys held and on the way
 * would run out within `latencyMultiple` times that latency at that pace, up to `maxKeysAhead`
 * of them, so when one key lasts less than a KMS call several calls overlap.
 */
export interface AdaptiveRefreshOptions {
  /** How many KMS latencies of use to keep held and on the way; 0 or more, default 2. */
  readonly latencyMultiple?: number;
  /** Most data keys per cache key held ready or being fetched behind the one in use; 1 to 64, default 4. */
  readonly maxKeysAhead?: number;
}

/** How long, and for how much, one data key may be used, and how the next one is fetched. */
export interface DataKeyCacheBounds {
  /** Cache keys held per operation (encrypt and decrypt each), least recently used out first. */
  readonly capacity: number;
  readonly maxAgeSeconds: number;
  /** Messages one data key may encrypt, at most the SDK's limit of 2^32. */
  readonly maxMessages: number;
  /** Plaintext bytes one data key may encrypt. */
  readonly maxBytes: number;
  /** Fetch the next data key in the background before the current one reaches a bound. */
  readonly refreshAhead: boolean;
  /** Share in (0, 1] of any bound (age, messages, bytes) at which the next data key is fetched. */
  readonly refreshAheadAt: number;
}

/** The cache's own options: its bounds, and what it is built on. Services map their settings onto them. */
export interface DataKeyCacheOptions extends DataKeyCacheBounds {
  /** Where data keys come from on a miss: a keyring is wrapped in the SDK's default materials manager. */
  readonly backing: KeyringNode | NodeMaterialsManager;
  /**
   * With `refreshAhead`, also fetch ahead from the observed pace and KMS latency, several keys at
   * once when one key lasts less than a KMS call. On by default; `false` fetches one key at
   * `refreshAheadAt` only.
   */
  readonly adaptiveRefresh?: AdaptiveRefreshOptions | false;
  /** Keeps cache keys apart from other caches; random when unset, as in the SDK. */
  readonly partition?: string;
  /** From `createDataKeyCacheMetrics(registry)`; nothing is recorded when unset. */
  readonly metrics?: DataKeyCacheMetrics;
  readonly logger?: DataKeyCacheLogger;
  /** Milliseconds since an epoch; tests pass a clock they move by hand. */
  readonly clock?: () => number;
  /** Fail-fast window after a failed KMS call; defaults to 100 ms doubling up to 10 s. */
  readonly backoff?: BackoffOptions;
  /** Called once per request with how it was served. */
  readonly onRequest?: (event: CacheRequestEvent) => void;
}

export const DEFAULT_ADAPTIVE_REFRESH: Required<AdaptiveRefreshOptions> = Object.freeze({
  latencyMultiple: 2,
  maxKeysAhead: 4,
});

/** Most keys any cache key may hold ahead. */
export const MAX_KEYS_AHEAD = 64;

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 100, maxMs: 10_000 });

/** The SDK refuses to cache a data key for more messages than this. */
export const MAX_MESSAGES_PER_DATA_KEY = 2 ** 32;

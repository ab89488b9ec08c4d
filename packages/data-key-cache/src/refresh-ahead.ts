import { type DataKeyCacheOptions, DEFAULT_ADAPTIVE_REFRESH } from './options.js';

/** How refresh-ahead runs, resolved from the options. */
export interface RefreshAheadPlan {
  /** Share of any bound of the key in use at which the next key is fetched. */
  readonly share: number;
  /** Keys in hand and on the way should last this many KMS latencies; 0 leaves only `share`. */
  readonly latencyMultiple: number;
  /** Most keys per cache key held ready or being fetched behind the one in use. */
  readonly maxKeysAhead: number;
}

/** What one cache key has, right after a request was served from it. */
export interface KeySupply {
  /** The key that served has reached `share` of one of its bounds. */
  readonly shareReached: boolean;
  /** Keys held behind the one in use. */
  readonly ready: number;
  /** KMS calls in progress for this cache key. */
  readonly inFlight: number;
  /** How long the keys held last at the observed pace, in milliseconds. */
  readonly coverMs: number;
  /** How long a key fetched now would last at that pace. */
  readonly freshKeyMs: number;
  /** The observed KMS latency: the slowest recent call. */
  readonly latencyMs: number;
}

/**
 * How many more data keys to start fetching now. A key is fetched when the key in use reaches
 * `share` of a bound and nothing is on the way; and more are fetched, up to `maxKeysAhead` held or
 * on the way, while everything held or on the way would run out within `latencyMultiple` KMS
 * latencies at the observed pace. So at a pace where a whole key lasts less than a KMS call,
 * several calls overlap and a key is always ready.
 */
export function keysToFetch(plan: RefreshAheadPlan, supply: KeySupply): number {
  const leadMs = plan.latencyMultiple * supply.latencyMs;
  let ahead = supply.ready + supply.inFlight;
  let coverMs = supply.coverMs;
  for (let call = 0; call < supply.inFlight; call++) coverMs += supply.freshKeyMs;
  let due = 0;
  while (ahead < plan.maxKeysAhead && ((supply.shareReached && ahead === 0) || coverMs < leadMs)) {
    due += 1;
    ahead += 1;
    coverMs += supply.freshKeyMs;
  }
  return due;
}

/** The plan the options ask for; undefined when refresh-ahead is off. */
export function refreshAheadPlan(options: DataKeyCacheOptions): RefreshAheadPlan | undefined {
  if (!options.refreshAhead) return undefined;
  const adaptive = options.adaptiveRefresh;
  // Without adaptation: one key ahead, fetched at the share only.
  if (adaptive === false) return { share: options.refreshAheadAt, latencyMultiple: 0, maxKeysAhead: 1 };
  return {
    share: options.refreshAheadAt,
    latencyMultiple: adaptive?.latencyMultiple ?? DEFAULT_ADAPTIVE_REFRESH.latencyMultiple,
    maxKeysAhead: adaptive?.maxKeysAhead ?? DEFAULT_ADAPTIVE_REFRESH.maxKeysAhead,
  };
}

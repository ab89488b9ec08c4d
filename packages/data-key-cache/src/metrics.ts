import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EvictionReason } from './data-key-entry.js';

export type CacheOperation = 'encrypt' | 'decrypt';

/**
 * How a request was served. `miss`: it started the KMS call. `coalesced`: it waited on a KMS call
 * another request started. `refresh`: a hit that also started fetching the next data key.
 */
export type CacheResult = 'hit' | 'miss' | 'coalesced' | 'refresh';

/** What the cache reports; `createDataKeyCacheMetrics` turns it into Prometheus metrics. */
export interface DataKeyCacheMetrics {
  request(operation: CacheOperation, result: CacheResult): void;
  entryAdded(operation: CacheOperation): void;
  /** `reason` is undefined when the cache is closed, which is not an eviction. */
  entryRemoved(operation: CacheOperation, messages: number, reason: EvictionReason | undefined): void;
  kmsFailure(operation: CacheOperation): void;
}

export const noDataKeyCacheMetrics: DataKeyCacheMetrics = {
  request: () => {},
  entryAdded: () => {},
  entryRemoved: () => {},
  kmsFailure: () => {},
};

/**
 * The cache's metrics, registered in `registry` only. KMS requests themselves are counted by
 * `@records/aws-clients` (`kms_requests_total`), so they are not repeated here.
 */
export function createDataKeyCacheMetrics(registry: Registry): DataKeyCacheMetrics {
  const requests = new Counter({
    name: 'datakey_cache_requests_total',
    help: 'Materials requests served by the data key cache, by operation and result (hit, miss, coalesced, refresh).',
    labelNames: ['operation', 'result'] as const,
    registers: [registry],
  });
  const entries = new Gauge({
    name: 'datakey_cache_entries',
    help: 'Data keys held in the cache, by operation.',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const evictions = new Counter({
    name: 'datakey_cache_evictions_total',
    help: 'Data keys that left the cache, by operation and reason (age, messages, bytes, capacity).',
    labelNames: ['operation', 'reason'] as const,
    registers: [registry],
  });
  const messagesPerDataKey = new Histogram({
    name: 'datakey_cache_messages_per_data_key',
    help: 'Messages each data key encrypted, observed when it leaves the cache.',
    buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 10_000, 100_000],
    registers: [registry],
  });
  const kmsFailures = new Counter({
    name: 'datakey_cache_kms_failures_total',
    help: 'KMS calls for data keys that failed, by operation; every request waiting on one got the same error.',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  for (const operation of ['encrypt', 'decrypt'] as const) entries.set({ operation }, 0);
  return {
    request: (operation, result) => requests.inc({ operation, result }),
    entryAdded: (operation) => entries.inc({ operation }),
    entryRemoved: (operation, messages, reason) => {
      entries.dec({ operation });
      if (reason !== undefined) evictions.inc({ operation, reason });
      if (operation === 'encrypt') messagesPerDataKey.observe(messages);
    },
    kmsFailure: (operation) => kmsFailures.inc({ operation }),
  };
}

import { randomBytes } from 'node:crypto';
import {
  KeyringNode,
  type NodeAlgorithmSuite,
  type NodeDecryptionMaterial,
  NodeDefaultCryptographicMaterialsManager,
  type NodeEncryptionMaterial,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';
import { cloneMaterial, type DecryptionRequest, type EncryptionRequest } from '@aws-crypto/material-management';
import { cacheKeys } from './cache-keys.js';
import { CacheSide } from './cache-side.js';
import type { UsageBounds } from './data-key-entry.js';
import { noDataKeyCacheMetrics } from './metrics.js';
import { type CacheRequestEvent, type DataKeyCacheOptions, DEFAULT_BACKOFF } from './options.js';
import { validateDataKeyCacheOptions } from './options-validation.js';
import { refreshAheadPlan } from './refresh-ahead.js';

const SWEEP_EVERY_MS = 60_000;
const SWEEP_AT_MOST_EVERY_MS = 1_000;

/**
 * A caching materials manager for the Encryption SDK that makes the fewest KMS calls the bounds
 * allow, at any concurrency: concurrent misses for one cache key share one KMS call, each data key
 * serves exactly up to its bounds, and the next keys can be fetched before the current one runs
 * out, as many ahead as the observed pace and KMS latency call for.
 */
export class CoalescingCachingMaterialsManager implements NodeMaterialsManager {
  readonly #backing: NodeMaterialsManager;
  readonly #partition: string;
  readonly #maxBytes: number;
  readonly #encrypt: CacheSide<NodeEncryptionMaterial>;
  readonly #decrypt: CacheSide<NodeDecryptionMaterial>;
  readonly #onRequest: ((event: CacheRequestEvent) => void) | undefined;
  readonly #sweep: NodeJS.Timeout;

  constructor(options: DataKeyCacheOptions) {
    validateDataKeyCacheOptions(options);
    const { backing } = options;
    this.#backing = backing instanceof KeyringNode ? new NodeDefaultCryptographicMaterialsManager(backing) : backing;
    this.#partition = options.partition ?? randomBytes(64).toString('base64');
    this.#maxBytes = options.maxBytes;
    this.#onRequest = options.onRequest;
    const maxAgeMs = options.maxAgeSeconds * 1000;
    const shared = {
      capacity: options.capacity,
      refreshAhead: refreshAheadPlan(options),
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      clock: options.clock ?? Date.now,
      metrics: options.metrics ?? noDataKeyCacheMetrics,
      logger: options.logger,
      onRequest: options.onRequest,
    };
    const encryptBounds: UsageBounds = { maxAgeMs, maxMessages: options.maxMessages, maxBytes: options.maxBytes };
    // A decrypted data key encrypts nothing; only its age bounds it, as in the SDK.
    const decryptBounds: UsageBounds = { maxAgeMs, maxMessages: Infinity, maxBytes: Infinity };
    this.#encrypt = new CacheSide({ ...shared, operation: 'encrypt', bounds: encryptBounds, clone: cloneMaterial });
    this.#decrypt = new CacheSide({ ...shared, operation: 'decrypt', bounds: decryptBounds, clone: cloneMaterial });
    // Keys that nobody asks for again still leave on time; unref'd so the cache never holds the process open.
    const sweepEveryMs = Math.max(SWEEP_AT_MOST_EVERY_MS, Math.min(maxAgeMs, SWEEP_EVERY_MS));
    this.#sweep = setInterval(() => this.#evictExpired(), sweepEveryMs).unref();
  }

  async getEncryptionMaterials(request: EncryptionRequest<NodeAlgorithmSuite>): Promise<NodeEncryptionMaterial> {
    const { suite, encryptionContext, plaintextLength, commitmentPolicy } = request;
    if (
      (suite !== undefined && !suite.cacheSafe) ||
      typeof plaintextLength !== 'number' ||
      plaintextLength < 0 ||
      plaintextLength > this.#maxBytes
    ) {
      this.#onRequest?.({ operation: 'encrypt', result: 'bypass' });
      return this.#backing.getEncryptionMaterials(request);
    }
    const cacheKey = await cacheKeys.buildEncryptionMaterialCacheKey(this.#partition, { suite, encryptionContext });
    // The backing request carries no plaintext length: the key it returns serves many messages.
    return this.#encrypt.serve(cacheKey, plaintextLength, () =>
      this.#backing.getEncryptionMaterials({ suite, encryptionContext, commitmentPolicy }),
    );
  }

  async decryptMaterials(request: DecryptionRequest<NodeAlgorithmSuite>): Promise<NodeDecryptionMaterial> {
    if (!request.suite.cacheSafe) {
      this.#onRequest?.({ operation: 'decrypt', result: 'bypass' });
      return this.#backing.decryptMaterials(request);
    }
    const cacheKey = await cacheKeys.buildDecryptionMaterialCacheKey(this.#partition, request);
    return this.#decrypt.serve(cacheKey, 0, () => this.#backing.decryptMaterials(request));
  }

  /** Resolves once no KMS call is in progress, refresh-ahead included. */
  async idle(): Promise<void> {
    await Promise.all([this.#encrypt.idle(), this.#decrypt.idle()]);
  }

  /** Zeroes and drops every cached data key and stops the age sweep. */
  close(): void {
    clearInterval(this.#sweep);
    this.#encrypt.clear();
    this.#decrypt.clear();
  }

  #evictExpired(): void {
    this.#encrypt.evictExpired();
    this.#decrypt.evictExpired();
  }
}

import { describe, expect, it } from 'vitest';
import type { DataKeyCacheOptions } from '../../src/index.js';
import { cacheUnderTest, dataKeyOfMaterial, sampleOf, settle } from '../support/unit-cache.js';

const adaptive: Partial<DataKeyCacheOptions> = { refreshAhead: true, refreshAheadAt: 0.8 };

/** The first request misses and KMS takes `latencyMs` of the clock to answer it. */
async function firstKeyTaking(cache: ReturnType<typeof cacheUnderTest>, latencyMs: number) {
  cache.backing.hold();
  const first = cache.encryptRequest();
  await settle();
  cache.clock.advance(latencyMs);
  cache.backing.release();
  return first;
}

/** Requests one after another, `gapMs` apart on the clock. */
async function paced(cache: ReturnType<typeof cacheUnderTest>, count: number, gapMs: number) {
  const materials = [];
  for (let index = 0; index < count; index++) {
    cache.clock.advance(gapMs);
    materials.push(await cache.encryptRequest());
  }
  return materials;
}

/** Gets four keys fetched ahead and waiting: 20 requests 1 ms apart, KMS taking 100 ms. */
async function fourKeysAhead(overrides: Partial<DataKeyCacheOptions> = {}) {
  const cache = cacheUnderTest({ ...adaptive, maxMessages: 30, ...overrides });
  await firstKeyTaking(cache, 100);
  cache.backing.hold();
  await paced(cache, 19, 1);
  const callsWhileHeld = cache.backing.encryptCalls.length;
  cache.backing.release();
  await cache.cmm.idle();
  return { ...cache, callsWhileHeld };
}

describe('Class: CoalescingCachingMaterialsManager, adaptive refresh-ahead', () => {
  it.each([
    // Requests 10 ms apart: a 100-message key lasts 1 s. The next key is fetched once the rest of
    // the key lasts less than twice the KMS latency (59 messages left × 10 ms < 600 ms), or at
    // refreshAheadAt (80 messages), whichever comes first.
    { latencyMs: 300, adaptiveRefresh: undefined, refreshAt: 41 },
    { latencyMs: 50, adaptiveRefresh: undefined, refreshAt: 80 },
    { latencyMs: 300, adaptiveRefresh: false as const, refreshAt: 80 },
  ])(
    'returns the first refresh at message $refreshAt when KMS takes $latencyMs ms (adaptiveRefresh $adaptiveRefresh)',
    async ({ latencyMs, adaptiveRefresh, refreshAt }) => {
      // Prepare
      const cache = cacheUnderTest({ ...adaptive, ...(adaptiveRefresh === undefined ? {} : { adaptiveRefresh }) });
      await firstKeyTaking(cache, latencyMs);

      // Act
      await paced(cache, 99, 10);

      // Assess
      expect(cache.results().indexOf('refresh') + 1).toBe(refreshAt);
      expect(cache.results().filter((result) => result === 'refresh')).toHaveLength(1);
      expect(cache.backing.encryptCalls).toHaveLength(2);
      cache.cmm.close();
    },
  );

  it('returns up to maxKeysAhead keys fetched at once when a whole key lasts less than the KMS latency', async () => {
    // Prepare: a 30-message key lasts 30 ms at this pace, KMS takes 100 ms.

    // Act
    const { backing, cmm, registry, results, callsWhileHeld } = await fourKeysAhead();

    // Assess
    expect(callsWhileHeld).toBe(1 + 4);
    expect(backing.encryptCalls).toHaveLength(5);
    expect(
      results()
        .slice(1)
        .every((result) => result === 'hit' || result === 'refresh'),
    ).toBe(true);
    expect(await sampleOf(registry, 'datakey_cache_entries', { operation: 'encrypt' })).toBe(5);
    cmm.close();
  });

  it('returns no more keys ahead than maxKeysAhead allows', async () => {
    // Act
    const { backing, cmm, callsWhileHeld } = await fourKeysAhead({ adaptiveRefresh: { maxKeysAhead: 2 } });

    // Assess
    expect(callsWhileHeld).toBe(1 + 2);
    expect(backing.encryptCalls).toHaveLength(3);
    cmm.close();
  });

  it('serves the keys fetched ahead in the order they arrived, each up to maxMessages', async () => {
    // Prepare
    const cache = await fourKeysAhead();

    // Act
    const served = await paced(cache, 10 + 4 * 30, 1);

    // Assess
    const produced = cache.backing.producedForEncrypt.map(dataKeyOfMaterial);
    const order = served.map((material) => produced.indexOf(dataKeyOfMaterial(material)));
    const expected = [0, 1, 2, 3, 4].flatMap((key) => Array.from({ length: key === 0 ? 10 : 30 }, () => key));
    expect(order).toEqual(expected);
    expect(
      cache
        .results()
        .slice(1)
        .every((result) => result === 'hit' || result === 'refresh'),
    ).toBe(true);
    cache.cmm.close();
  });

  it('evicts and zeroes keys fetched ahead that age out unused, counting each as an entry that left', async () => {
    // Prepare
    const { backing, clock, cmm, registry, encryptRequest } = await fourKeysAhead({ maxAgeSeconds: 60 });

    // Act
    clock.advance(60_001);
    await encryptRequest(10, 'another stream');

    // Assess
    const waiting = backing.producedForEncrypt.slice(0, 5);
    expect(waiting.every((material) => !material.hasUnencryptedDataKey)).toBe(true);
    expect(await sampleOf(registry, 'datakey_cache_evictions_total', { reason: 'age' })).toBe(5);
    expect(await sampleOf(registry, 'datakey_cache_messages_per_data_key_bucket', { le: 0 })).toBe(4);
    expect(await sampleOf(registry, 'datakey_cache_entries', { operation: 'encrypt' })).toBe(1);
    cmm.close();
  });

  it('zeroes keys fetched ahead when closed', async () => {
    // Prepare
    const { backing, cmm, registry } = await fourKeysAhead();

    // Act
    cmm.close();

    // Assess
    expect(backing.produced.every((material) => !material.hasUnencryptedDataKey)).toBe(true);
    expect(await sampleOf(registry, 'datakey_cache_entries', { operation: 'encrypt' })).toBe(0);
  });

  it('zeroes keys fetched ahead when their cache key is pushed out by capacity', async () => {
    // Prepare
    const { backing, cmm, encryptRequest } = await fourKeysAhead({ capacity: 1 });

    // Act
    await encryptRequest(10, 'another stream');

    // Assess
    expect(backing.producedForEncrypt.slice(0, 5).every((material) => !material.hasUnencryptedDataKey)).toBe(true);
    cmm.close();
  });

  it('never lets a key serve more than maxMessages when 1,000 requests race with keys fetched ahead', async () => {
    // Prepare
    const cache = cacheUnderTest({ ...adaptive, maxMessages: 64 });
    await firstKeyTaking(cache, 100);

    // Act
    const served = await Promise.all(Array.from({ length: 1_000 }, () => cache.encryptRequest()));
    await cache.cmm.idle();

    // Assess
    const perKey = new Map<string, number>();
    for (const material of served) {
      const key = dataKeyOfMaterial(material);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    expect(Math.max(...perKey.values())).toBe(64);
    expect(cache.backing.encryptCalls.length).toBeLessThanOrEqual(Math.ceil(1_001 / 64) + 4);
    cache.cmm.close();
  });
});

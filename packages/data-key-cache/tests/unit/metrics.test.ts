import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CoalescingCachingMaterialsManager, createDataKeyCacheMetrics } from '../../src/index.js';
import { ManualClock, ScriptedBacking } from '../support/scripted-backing.js';
import { commitmentPolicy, sampleOf, suite } from '../support/unit-cache.js';

describe('Function: createDataKeyCacheMetrics', () => {
  it('returns metrics registered in the given registry only', async () => {
    // Prepare
    const registry = new Registry();

    // Act
    createDataKeyCacheMetrics(registry);

    // Assess
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name).sort();
    expect(names).toEqual([
      'datakey_cache_entries',
      'datakey_cache_evictions_total',
      'datakey_cache_kms_failures_total',
      'datakey_cache_messages_per_data_key',
      'datakey_cache_requests_total',
    ]);
  });

  it('counts requests by result, entries, evictions by reason and messages per data key when the cache runs', async () => {
    // Prepare
    const registry = new Registry();
    const backing = new ScriptedBacking();
    const clock = new ManualClock();
    const cmm = new CoalescingCachingMaterialsManager({
      backing,
      capacity: 10,
      maxAgeSeconds: 60,
      maxMessages: 4,
      maxBytes: 1_000_000,
      refreshAhead: false,
      refreshAheadAt: 1,
      clock: clock.now,
      metrics: createDataKeyCacheMetrics(registry),
    });
    const request = (stream: string) =>
      cmm.getEncryptionMaterials({ suite, encryptionContext: { stream }, commitmentPolicy, plaintextLength: 1 });

    // Act
    await Promise.all(Array.from({ length: 6 }, () => request('a')));
    await request('b');
    clock.advance(60_001);
    await request('b');
    backing.failure = new Error('KMS said no');
    await request('c').catch(() => {});

    // Assess
    expect(await sampleOf(registry, 'datakey_cache_requests_total', { result: 'miss' })).toBe(5);
    expect(await sampleOf(registry, 'datakey_cache_requests_total', { result: 'coalesced' })).toBe(4);
    expect(await sampleOf(registry, 'datakey_cache_entries', { operation: 'encrypt' })).toBe(1);
    expect(await sampleOf(registry, 'datakey_cache_evictions_total', { reason: 'messages' })).toBe(1);
    expect(await sampleOf(registry, 'datakey_cache_evictions_total', { reason: 'age' })).toBe(2);
    expect(await sampleOf(registry, 'datakey_cache_messages_per_data_key_bucket', { le: 2 })).toBe(2);
    expect(await sampleOf(registry, 'datakey_cache_messages_per_data_key_count')).toBe(3);
    expect(await sampleOf(registry, 'datakey_cache_kms_failures_total', { operation: 'encrypt' })).toBe(1);
    cmm.close();
  });

  it('counts a capacity eviction when a new key pushes out the least recently used one', async () => {
    // Prepare
    const registry = new Registry();
    const cmm = new CoalescingCachingMaterialsManager({
      backing: new ScriptedBacking(),
      capacity: 1,
      maxAgeSeconds: 60,
      maxMessages: 10,
      maxBytes: 1_000_000,
      refreshAhead: false,
      refreshAheadAt: 1,
      metrics: createDataKeyCacheMetrics(registry),
    });
    const request = (stream: string) =>
      cmm.getEncryptionMaterials({ suite, encryptionContext: { stream }, commitmentPolicy, plaintextLength: 1 });

    // Act
    await request('a');
    await request('b');

    // Assess
    expect(await sampleOf(registry, 'datakey_cache_evictions_total', { reason: 'capacity' })).toBe(1);
    expect(await sampleOf(registry, 'datakey_cache_entries', { operation: 'encrypt' })).toBe(1);
    cmm.close();
  });
});

import { NodeDefaultCryptographicMaterialsManager, type NodeEncryptionMaterial } from '@aws-crypto/client-node';
import { createKmsFixture, type KmsFixture } from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CacheRequestEvent,
  CoalescingCachingMaterialsManager,
  type DataKeyCacheOptions,
} from '../../src/index.js';
import { kmsMissing, motoEndpoint, regions } from '../support/kms-suite.js';
import { SteppedClock, SteppedLatencyBacking } from '../support/stepped-clock.js';
import { commitmentPolicy, dataKeyOfMaterial, suite } from '../support/unit-cache.js';

const MAX_MESSAGES = 10;
/** Each KMS answer lands 25 ms after its call on the stepped clock: 2.5 keys' worth of requests. */
const KMS_LATENCY_MS = 25;
/** One request per millisecond, whether or not earlier requests are still waiting. */
const REQUESTS = 500;
/**
 * From cold, the requests that arrive while the first keys are fetched queue up; with four keys
 * ahead the cache serves 40 messages per 25 ms against 25 arriving, so the queue is gone by ~100.
 */
const WARM_UP = 150;
const MAX_KEYS_AHEAD = 4;

describe.skipIf(kmsMissing)('Class: CoalescingCachingMaterialsManager, adaptive refresh-ahead against KMS', () => {
  let kms: KmsFixture;

  /** REQUESTS encrypt requests at one per millisecond of the stepped clock, through a fresh cache. */
  async function pacedLoad(options: Partial<DataKeyCacheOptions>) {
    kms.proxy.resetCounts();
    const clock = new SteppedClock();
    const events: CacheRequestEvent[] = [];
    const backing = new NodeDefaultCryptographicMaterialsManager(kms.producerKeyring());
    const cmm = new CoalescingCachingMaterialsManager({
      backing: new SteppedLatencyBacking(backing, clock, KMS_LATENCY_MS),
      capacity: 10,
      maxAgeSeconds: 3_600,
      maxMessages: MAX_MESSAGES,
      maxBytes: 1024 * 1024 * 1024,
      refreshAhead: true,
      refreshAheadAt: 0.8,
      clock: clock.now,
      onRequest: (event) => events.push(event),
      ...options,
    });
    const pending: Promise<NodeEncryptionMaterial>[] = [];
    let inProgress = 0;
    let warmUp = { events: 0, inProgress: 0 };
    for (let index = 0; index < REQUESTS; index++) {
      if (index === WARM_UP) warmUp = { events: events.length, inProgress };
      inProgress += 1;
      const request = cmm.getEncryptionMaterials({
        suite,
        encryptionContext: { stream: 'records' },
        commitmentPolicy,
        plaintextLength: 100,
      });
      pending.push(request.finally(() => inProgress--));
      await clock.step(1);
    }
    // Requests still waiting get their keys, and calls still on the way land, as the clock moves on.
    for (let steps = 0; inProgress > 0 || clock.holding > 0; steps++) {
      if (steps > REQUESTS * KMS_LATENCY_MS) throw new Error(`${inProgress} requests never got a key`);
      await clock.step(1);
    }
    const materials = await Promise.all(pending);
    await cmm.idle();
    cmm.close();
    const perKey = new Map<string, number>();
    for (const material of materials) {
      const key = dataKeyOfMaterial(material);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    return {
      /** Requests still waiting on KMS when the warm-up ended. */
      waitingAtWarmUp: warmUp.inProgress,
      /** Requests that waited on KMS and were served after the warm-up. */
      waitedAfterWarmUp: events
        .slice(warmUp.events)
        .filter((event) => event.result === 'miss' || event.result === 'coalesced').length,
      generated: kms.proxy.count({ operation: 'GenerateDataKey', region: kms.generatorRegion }),
      wrapped: kms.proxy.count({ operation: 'Encrypt', region: kms.otherRegion }),
      mostMessagesPerKey: Math.max(...perKey.values()),
    };
  }

  beforeAll(async () => {
    kms = await createKmsFixture(motoEndpoint, regions);
  });

  afterAll(async () => {
    await kms?.close();
  });

  it('returns no request waiting on KMS after warm-up when 2.5 keys are used per KMS round trip', async () => {
    // Act
    const run = await pacedLoad({ adaptiveRefresh: { latencyMultiple: 2, maxKeysAhead: MAX_KEYS_AHEAD } });

    // Assess
    const minimum = REQUESTS / MAX_MESSAGES;
    expect(run.waitingAtWarmUp).toBe(0);
    expect(run.waitedAfterWarmUp).toBe(0);
    expect(run.mostMessagesPerKey).toBe(MAX_MESSAGES);
    expect(run.generated).toBeGreaterThanOrEqual(minimum);
    expect(run.generated).toBeLessThanOrEqual(minimum + MAX_KEYS_AHEAD);
    expect(run.wrapped).toBe(run.generated);
  });

  it('returns requests waiting on KMS at the same load when one key is fetched at refreshAheadAt', async () => {
    // Act
    const run = await pacedLoad({ adaptiveRefresh: false });

    // Assess: each key runs out 23 ms before the next one lands.
    expect(run.waitedAfterWarmUp).toBeGreaterThan((REQUESTS - WARM_UP) / 2);
    expect(run.mostMessagesPerKey).toBe(MAX_MESSAGES);
    expect(run.generated).toBeLessThanOrEqual(REQUESTS / MAX_MESSAGES + 1);
  });
});

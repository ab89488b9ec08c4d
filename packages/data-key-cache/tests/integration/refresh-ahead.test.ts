import {
  createKmsFixture,
  encryptRecord,
  inParallel,
  type KmsFixture,
  record,
  usePerDataKey,
} from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CacheRequestEvent,
  CoalescingCachingMaterialsManager,
  type DataKeyCacheOptions,
} from '../../src/index.js';
import { kmsMissing, motoEndpoint, regions } from '../support/kms-suite.js';

const RECORDS = 1_000;
const MAX_MESSAGES = 100;

describe.skipIf(kmsMissing)('Class: CoalescingCachingMaterialsManager, refresh-ahead against KMS', () => {
  let kms: KmsFixture;
  const cache = (
    refreshAhead: boolean,
    events: CacheRequestEvent[],
    adaptiveRefresh: DataKeyCacheOptions['adaptiveRefresh'] = undefined,
  ) =>
    new CoalescingCachingMaterialsManager({
      backing: kms.producerKeyring(),
      capacity: 10,
      maxAgeSeconds: 3_600,
      maxMessages: MAX_MESSAGES,
      maxBytes: 1024 * 1024 * 1024,
      refreshAhead,
      refreshAheadAt: 0.8,
      onRequest: (event) => events.push(event),
      ...(adaptiveRefresh === undefined ? {} : { adaptiveRefresh }),
    });

  beforeAll(async () => {
    kms = await createKmsFixture(motoEndpoint, regions);
  });

  afterAll(async () => {
    await kms?.close();
  });

  // Steady load here means KMS answers before the current key runs out: the test waits for the
  // background call after each refresh instead of relying on timing.
  it.each([
    [true, 0],
    [false, RECORDS / MAX_MESSAGES - 1],
  ])(
    'returns no request waiting on KMS after warm-up when refresh-ahead is %s (%i waits)',
    async (refreshAhead, waits) => {
      // Prepare
      const events: CacheRequestEvent[] = [];
      const cmm = cache(refreshAhead, events);
      await encryptRecord(cmm, record(0));

      // Act
      for (let index = 1; index < RECORDS; index++) {
        await encryptRecord(cmm, record(index));
        await cmm.idle();
      }
      cmm.close();

      // Assess
      const waited = events.slice(1).filter((event) => event.result === 'miss' || event.result === 'coalesced');
      expect(waited).toHaveLength(waits);
    },
  );

  it.each([
    [1, 'one key at refreshAheadAt', false as const],
    [4, 'adaptive, up to 4 keys ahead', { maxKeysAhead: 4 }],
  ])(
    'keeps every bound and makes at most %i calls beyond the minimum when 16 encrypts run at once (%s)',
    async (keysAhead, _mode, adaptiveRefresh) => {
      // Prepare
      kms.proxy.resetCounts();
      const cmm = cache(true, [], adaptiveRefresh);

      // Act
      const messages = await inParallel(RECORDS, 16, (index) => encryptRecord(cmm, record(index)));
      await cmm.idle();
      cmm.close();

      // Assess
      const perKey = [...usePerDataKey(messages).values()].map((use) => use.messages);
      expect(Math.max(...perKey)).toBeLessThanOrEqual(MAX_MESSAGES);
      const generated = kms.proxy.count({ operation: 'GenerateDataKey', region: kms.generatorRegion });
      expect(generated).toBeGreaterThanOrEqual(RECORDS / MAX_MESSAGES);
      expect(generated).toBeLessThanOrEqual(RECORDS / MAX_MESSAGES + keysAhead);
      expect(kms.proxy.count({ operation: 'Encrypt', region: kms.otherRegion })).toBe(generated);
    },
  );
});

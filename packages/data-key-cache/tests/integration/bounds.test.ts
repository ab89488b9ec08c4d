import {
  createKmsFixture,
  encryptRecord,
  inParallel,
  type KmsFixture,
  record,
  usePerDataKey,
} from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoalescingCachingMaterialsManager, type DataKeyCacheOptions } from '../../src/index.js';
import { kmsMissing, motoEndpoint, regions } from '../support/kms-suite.js';
import { ManualClock } from '../support/scripted-backing.js';

const defaults = {
  capacity: 10,
  maxAgeSeconds: 3_600,
  maxMessages: 1_000_000,
  maxBytes: 1024 * 1024 * 1024,
  refreshAhead: false,
  refreshAheadAt: 0.8,
};

describe.skipIf(kmsMissing)('Class: CoalescingCachingMaterialsManager, security bounds against KMS', () => {
  let kms: KmsFixture;
  const cache = (options: Partial<DataKeyCacheOptions>) =>
    new CoalescingCachingMaterialsManager({ backing: kms.producerKeyring(), ...defaults, ...options });

  beforeAll(async () => {
    kms = await createKmsFixture(motoEndpoint, regions);
  });

  afterAll(async () => {
    await kms?.close();
  });

  it('never encrypts more than maxMessages under one data key when 256 encrypts race', async () => {
    // Prepare
    kms.proxy.resetCounts();
    const cmm = cache({ maxMessages: 7 });

    // Act
    const messages = await inParallel(500, 256, (index) => encryptRecord(cmm, record(index)));
    cmm.close();

    // Assess
    const perKey = [...usePerDataKey(messages).values()].map((use) => use.messages);
    expect(Math.max(...perKey)).toBe(7);
    expect(perKey).toHaveLength(Math.ceil(500 / 7));
    expect(kms.proxy.count({ operation: 'GenerateDataKey' })).toBe(Math.ceil(500 / 7));
  });

  it('never encrypts more than maxMessages under one data key when 256 encrypts race with keys fetched ahead', async () => {
    // Prepare
    kms.proxy.resetCounts();
    const cmm = cache({ maxMessages: 7, refreshAhead: true, adaptiveRefresh: { maxKeysAhead: 4 } });

    // Act
    const messages = await inParallel(500, 256, (index) => encryptRecord(cmm, record(index)));
    await cmm.idle();
    cmm.close();

    // Assess
    const perKey = [...usePerDataKey(messages).values()].map((use) => use.messages);
    expect(Math.max(...perKey)).toBe(7);
    expect(perKey.reduce((sum, messages) => sum + messages, 0)).toBe(500);
    expect(kms.proxy.count({ operation: 'GenerateDataKey' })).toBeLessThanOrEqual(Math.ceil(500 / 7) + 4);
  });

  it('never encrypts more than maxBytes under one data key when 256 encrypts race', async () => {
    // Prepare
    kms.proxy.resetCounts();
    const cmm = cache({ maxBytes: 1_000 });

    // Act
    const messages = await inParallel(600, 256, (index) => encryptRecord(cmm, record(index, 64)));
    cmm.close();

    // Assess
    const perKey = [...usePerDataKey(messages).values()];
    expect(Math.max(...perKey.map((use) => use.bytes))).toBe(15 * 64);
    expect(perKey.every((use) => use.messages === 15)).toBe(true);
    expect(kms.proxy.count({ operation: 'GenerateDataKey' })).toBe(600 / 15);
  });

  it('never encrypts more than maxBytes under one data key when record sizes vary', async () => {
    // Prepare
    const cmm = cache({ maxBytes: 1_000 });

    // Act
    const messages = await inParallel(600, 64, (index) => encryptRecord(cmm, record(index, 20 + ((index * 37) % 200))));
    cmm.close();

    // Assess
    const perKey = [...usePerDataKey(messages).values()];
    expect(perKey.every((use) => use.bytes <= 1_000)).toBe(true);
    expect(perKey.reduce((sum, use) => sum + use.messages, 0)).toBe(600);
  });

  it('never uses a data key past maxAge', async () => {
    // Prepare
    kms.proxy.resetCounts();
    const clock = new ManualClock();
    const cmm = cache({ maxAgeSeconds: 60, clock: clock.now });
    const before = await inParallel(50, 16, (index) => encryptRecord(cmm, record(index)));

    // Act
    clock.advance(60_001);
    const after = await inParallel(50, 16, (index) => encryptRecord(cmm, record(index)));
    cmm.close();

    // Assess
    const keysBefore = [...usePerDataKey(before).keys()];
    const keysAfter = [...usePerDataKey(after).keys()];
    expect(keysBefore).toHaveLength(1);
    expect(keysAfter).toHaveLength(1);
    expect(keysAfter[0]).not.toBe(keysBefore[0]);
    expect(kms.proxy.count({ operation: 'GenerateDataKey' })).toBe(2);
  });
});

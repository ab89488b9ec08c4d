import {
  createKmsFixture,
  dataKeyOf,
  decrypt,
  encryptRecord,
  type KmsFixture,
  record,
} from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CacheRequestEvent,
  CoalescingCachingMaterialsManager,
  type DataKeyCacheOptions,
  KmsUnavailableError,
} from '../../src/index.js';
import { kmsMissing, motoEndpoint, regions } from '../support/kms-suite.js';
import { ManualClock } from '../support/scripted-backing.js';

const BACKOFF = { baseMs: 1_000, maxMs: 4_000 };

describe.skipIf(kmsMissing)('Class: CoalescingCachingMaterialsManager, KMS outage', () => {
  let kms: KmsFixture;

  function cache(options: Partial<DataKeyCacheOptions> & Pick<DataKeyCacheOptions, 'backing'>) {
    const clock = new ManualClock();
    const events: CacheRequestEvent[] = [];
    const cmm = new CoalescingCachingMaterialsManager({
      capacity: 10,
      maxAgeSeconds: 3_600,
      maxMessages: 100,
      maxBytes: 1024 * 1024 * 1024,
      refreshAhead: false,
      refreshAheadAt: 0.5,
      backoff: BACKOFF,
      clock: clock.now,
      onRequest: (event) => events.push(event),
      ...options,
    });
    return { cmm, clock, results: () => events.map((event) => event.result) };
  }

  beforeAll(async () => {
    // One attempt per call, so the proxy's counts show exactly what the cache sent.
    kms = await createKmsFixture(motoEndpoint, regions, { maxAttempts: 1 });
  });

  afterAll(async () => {
    kms.proxy.restore();
    await kms?.close();
  });

  it('fails every waiting encrypt with KmsUnavailableError from one KMS call and recovers after the back-off window', async () => {
    // Prepare
    kms.proxy.resetCounts();
    const { cmm, clock, results } = cache({ backing: kms.producerKeyring() });
    kms.proxy.refuse();

    // Act
    const during = await Promise.allSettled(
      Array.from({ length: 64 }, (_, index) => encryptRecord(cmm, record(index))),
    );
    const insideWindow = await encryptRecord(cmm, record(64)).catch((error: unknown) => error);
    kms.proxy.restore();
    clock.advance(BACKOFF.maxMs);
    const recovered = await encryptRecord(cmm, record(65));
    cmm.close();

    // Assess
    const errors = during.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : undefined));
    expect(errors.every((error) => error instanceof KmsUnavailableError && error.code === 'KMS_UNAVAILABLE')).toBe(
      true,
    );
    expect(insideWindow).toBeInstanceOf(KmsUnavailableError);
    expect(kms.proxy.refusedCount()).toBe(1);
    expect(results().slice(64)).toEqual(['backoff', 'miss']);
    expect(kms.proxy.count({ operation: 'GenerateDataKey' })).toBe(1);
    expect(kms.proxy.count({ operation: 'Encrypt' })).toBe(1);
    expect(dataKeyOf(recovered.ciphertext).split('|')).toHaveLength(2);
  });

  it('leaves no half-built entry when the other region fails after the generator region made the key', async () => {
    // Prepare
    kms.proxy.resetCounts();
    const { cmm, clock, results } = cache({ backing: kms.producerKeyring() });
    kms.proxy.refuse({ region: kms.otherRegion });

    // Act
    const failed = await encryptRecord(cmm, record(0)).catch((error: unknown) => error);
    kms.proxy.restore();
    clock.advance(BACKOFF.maxMs);
    const recovered = await encryptRecord(cmm, record(1));
    cmm.close();

    // Assess
    expect(failed).toBeInstanceOf(KmsUnavailableError);
    expect(results()).toEqual(['miss', 'miss']);
    expect(kms.proxy.count({ operation: 'GenerateDataKey', region: kms.generatorRegion })).toBe(2);
    expect(kms.proxy.count({ operation: 'Encrypt', region: kms.otherRegion })).toBe(1);
    expect(dataKeyOf(recovered.ciphertext).split('|')).toHaveLength(2);
  });

  it('keeps serving a valid key while KMS is down and fails cleanly once it is spent', async () => {
    // Prepare
    kms.proxy.resetCounts();
    const { cmm, clock } = cache({ backing: kms.producerKeyring(), maxMessages: 20, refreshAhead: true });
    const first = await encryptRecord(cmm, record(0));
    kms.proxy.refuse();

    // Act
    const outcomes: unknown[] = [];
    for (let index = 1; index < 30; index++) {
      outcomes.push(await encryptRecord(cmm, record(index)).catch((error: unknown) => error));
      await cmm.idle();
    }
    kms.proxy.restore();
    clock.advance(BACKOFF.maxMs);
    const recovered = await encryptRecord(cmm, record(30));
    cmm.close();

    // Assess
    const served = outcomes.filter((outcome) => !(outcome instanceof Error)) as { ciphertext: Uint8Array }[];
    expect(served).toHaveLength(19);
    expect(served.every((message) => dataKeyOf(message.ciphertext) === dataKeyOf(first.ciphertext))).toBe(true);
    expect(outcomes.slice(19).every((outcome) => outcome instanceof KmsUnavailableError)).toBe(true);
    expect(dataKeyOf(recovered.ciphertext)).not.toBe(dataKeyOf(first.ciphertext));
  });

  it('fails every waiting decrypt with KmsUnavailableError from one KMS call and recovers after the back-off window', async () => {
    // Prepare
    const producer = cache({ backing: kms.producerKeyring() }).cmm;
    const { ciphertext } = await encryptRecord(producer, record(0));
    producer.close();
    kms.proxy.resetCounts();
    const { cmm, clock } = cache({ backing: kms.consumerKeyring(kms.otherRegion) });
    kms.proxy.refuse();

    // Act
    const during = await Promise.allSettled(Array.from({ length: 32 }, () => decrypt(cmm, ciphertext)));
    kms.proxy.restore();
    clock.advance(BACKOFF.maxMs);
    const { plaintext } = await decrypt(cmm, ciphertext);
    cmm.close();

    // Assess
    const errors = during.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : undefined));
    expect(errors.every((error) => error instanceof KmsUnavailableError)).toBe(true);
    expect(kms.proxy.refusedCount({ operation: 'Decrypt' })).toBe(1);
    expect(kms.proxy.count({ operation: 'Decrypt' })).toBe(1);
    expect(plaintext.equals(record(0))).toBe(true);
  });
});

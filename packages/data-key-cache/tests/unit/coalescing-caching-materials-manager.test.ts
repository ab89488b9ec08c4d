import { describe, expect, it } from 'vitest';
import { KmsUnavailableError } from '../../src/index.js';
import { commitmentPolicy, dataKeyOfMaterial, cacheUnderTest as setup, suite } from '../support/unit-cache.js';

const count = (results: string[], result: string) => results.filter((each) => each === result).length;

describe('Class: CoalescingCachingMaterialsManager', () => {
  it('returns material from one backing call when 256 concurrent requests miss the same key', async () => {
    // Prepare
    const { backing, cmm, results, encryptRequest } = setup();

    // Act
    const materials = await Promise.all(Array.from({ length: 256 }, () => encryptRequest()));

    // Assess
    expect(backing.encryptCalls).toHaveLength(Math.ceil(256 / 100));
    expect(materials.every((material) => material.hasUnencryptedDataKey)).toBe(true);
    expect(count(results(), 'miss')).toBe(3);
    expect(count(results(), 'coalesced')).toBe(253);
    cmm.close();
  });

  it('returns ceil(N / maxMessages) backing calls when N concurrent requests outnumber one key', async () => {
    // Prepare
    const { backing, cmm, encryptRequest } = setup({ maxMessages: 64 });

    // Act
    await Promise.all(Array.from({ length: 1_000 }, () => encryptRequest()));

    // Assess
    expect(backing.encryptCalls).toHaveLength(Math.ceil(1_000 / 64));
    expect(backing.encryptCalls.every((request) => request.plaintextLength === undefined)).toBe(true);
    cmm.close();
  });

  it('returns a new data key when the current one is past its maximum age', async () => {
    // Prepare
    const { backing, clock, cmm, results, encryptRequest } = setup({ maxAgeSeconds: 60 });
    await encryptRequest();

    // Act
    clock.advance(60_000);
    await encryptRequest();
    clock.advance(1);
    await encryptRequest();

    // Assess
    expect(results()).toEqual(['miss', 'hit', 'miss']);
    expect(backing.encryptCalls).toHaveLength(2);
    expect(backing.produced[0]?.hasUnencryptedDataKey).toBe(false);
    cmm.close();
  });

  it('never lets a data key encrypt more than maxBytes when concurrent requests race', async () => {
    // Prepare
    const { backing, cmm, encryptRequest } = setup({ maxBytes: 1_000 });

    // Act
    const materials = await Promise.all(Array.from({ length: 10 }, () => encryptRequest(300)));

    // Assess: the bytes each data key was handed out for, summed per key
    const bytesPerKey = new Map<string, number>();
    for (const material of materials) {
      const key = dataKeyOfMaterial(material);
      bytesPerKey.set(key, (bytesPerKey.get(key) ?? 0) + 300);
    }
    expect(Math.max(...bytesPerKey.values())).toBeLessThanOrEqual(1_000);
    expect([...bytesPerKey.values()].reduce((sum, bytes) => sum + bytes, 0)).toBe(3_000);
    // Three requests fit a key, so the fewest keys that hold ten is four.
    expect(bytesPerKey.size).toBe(Math.ceil(10 / 3));
    expect(backing.encryptCalls).toHaveLength(bytesPerKey.size);
    cmm.close();
  });

  it('returns material from the backing each time when the plaintext length is unknown or above maxBytes', async () => {
    // Prepare
    const { backing, cmm, results, encryptRequest } = setup({ maxBytes: 1_000 });

    // Act
    await cmm.getEncryptionMaterials({ suite, encryptionContext: { stream: 'records' }, commitmentPolicy });
    await encryptRequest(1_001);
    await encryptRequest(1_001);

    // Assess
    expect(results()).toEqual(['bypass', 'bypass', 'bypass']);
    expect(backing.encryptCalls).toHaveLength(3);
    cmm.close();
  });

  it('returns clones and zeroes the cached copy when its last message is taken', async () => {
    // Prepare
    const { backing, cmm, encryptRequest } = setup({ maxMessages: 2 });

    // Act
    const first = await encryptRequest();
    const cached = backing.produced[0];
    const heldAfterFirst = cached?.hasUnencryptedDataKey;
    const second = await encryptRequest();

    // Assess
    expect(first).not.toBe(cached);
    expect(second).not.toBe(cached);
    expect(heldAfterFirst).toBe(true);
    expect(cached?.hasUnencryptedDataKey).toBe(false);
    expect(second.hasUnencryptedDataKey).toBe(true);
    cmm.close();
  });

  it('evicts and zeroes the least recently used key when capacity is reached', async () => {
    // Prepare
    const { backing, cmm, results, encryptRequest } = setup({ capacity: 2 });
    await encryptRequest(10, 'a');
    await encryptRequest(10, 'b');

    // Act
    await encryptRequest(10, 'c');
    await encryptRequest(10, 'a');

    // Assess
    expect(backing.produced[0]?.hasUnencryptedDataKey).toBe(false);
    expect(results()).toEqual(['miss', 'miss', 'miss', 'miss']);
    cmm.close();
  });

  it('zeroes every cached key when closed', async () => {
    // Prepare
    const { backing, cmm, encryptRequest } = setup();
    await encryptRequest(10, 'a');
    await encryptRequest(10, 'b');

    // Act
    cmm.close();

    // Assess
    expect(backing.produced.map((material) => material.hasUnencryptedDataKey)).toEqual([false, false]);
  });

  it('shares one backing call among concurrent decrypts of the same data key', async () => {
    // Prepare
    const { backing, cmm, encryptRequest, results } = setup();
    const encryption = await encryptRequest();
    const request = {
      suite,
      encryptionContext: encryption.encryptionContext,
      encryptedDataKeys: encryption.encryptedDataKeys,
    };

    // Act
    const materials = await Promise.all(Array.from({ length: 64 }, () => cmm.decryptMaterials(request)));

    // Assess
    expect(backing.decryptCalls).toHaveLength(1);
    expect(materials.every((material) => material.hasUnencryptedDataKey)).toBe(true);
    expect(new Set(materials).size).toBe(64);
    expect(count(results(), 'coalesced')).toBe(63);
    cmm.close();
  });

  it('fails every waiter with one KmsUnavailableError and caches nothing when the backing call fails', async () => {
    // Prepare
    const { backing, cmm, encryptRequest } = setup();
    const cause = new Error('KMS said no');
    backing.hold();
    const requests = Array.from({ length: 16 }, () => encryptRequest());

    // Act
    backing.failure = cause;
    backing.release();
    const settled = await Promise.allSettled(requests);

    // Assess
    const reasons = settled.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : undefined));
    expect(reasons.every((reason) => reason instanceof KmsUnavailableError)).toBe(true);
    expect(new Set(reasons).size).toBe(1);
    expect(reasons[0]).toMatchObject({ code: 'KMS_UNAVAILABLE', cause });
    expect(reasons[0].message).not.toContain('KMS said no');
    expect(backing.encryptCalls).toHaveLength(1);
    cmm.close();
  });

  it('fails fast without calling the backing inside the back-off window and recovers after it', async () => {
    // Prepare
    const { backing, clock, cmm, results, encryptRequest } = setup({ backoff: { baseMs: 1_000, maxMs: 8_000 } });
    backing.failure = new Error('KMS said no');
    await expect(encryptRequest()).rejects.toBeInstanceOf(KmsUnavailableError);

    // Act
    const insideWindow = encryptRequest();
    await expect(insideWindow).rejects.toBeInstanceOf(KmsUnavailableError);
    backing.failure = undefined;
    clock.advance(1_000);
    const afterWindow = await encryptRequest();

    // Assess
    expect(afterWindow.hasUnencryptedDataKey).toBe(true);
    expect(backing.encryptCalls).toHaveLength(2);
    expect(results()).toEqual(['miss', 'backoff', 'miss']);
    cmm.close();
  });

  it('keeps serving the current key when a refresh-ahead call fails', async () => {
    // Prepare
    const { backing, cmm, results, encryptRequest } = setup({
      maxMessages: 10,
      refreshAhead: true,
      refreshAheadAt: 0.5,
    });
    await encryptRequest();
    backing.failure = new Error('KMS said no');

    // Act
    const served = [];
    for (let index = 1; index < 10; index++) {
      served.push(await encryptRequest());
      await cmm.idle();
    }
    const spent = encryptRequest();

    // Assess
    expect(served.every((material) => material.hasUnencryptedDataKey)).toBe(true);
    await expect(spent).rejects.toBeInstanceOf(KmsUnavailableError);
    expect(results().slice(0, 10)).toEqual(['miss', 'hit', 'hit', 'hit', 'refresh', 'hit', 'hit', 'hit', 'hit', 'hit']);
    cmm.close();
  });

  it('returns a refresh when a key reaches the refresh-ahead share of its age, then serves the successor', async () => {
    // Prepare
    const { backing, clock, cmm, results, encryptRequest } = setup({ refreshAhead: true, refreshAheadAt: 0.5 });
    await encryptRequest();

    // Act
    clock.advance(30_000);
    await encryptRequest();
    await cmm.idle();
    clock.advance(30_001);
    const successor = await encryptRequest();

    // Assess
    expect(results()).toEqual(['miss', 'refresh', 'refresh']);
    expect(backing.produced[0]?.hasUnencryptedDataKey).toBe(false);
    expect(successor.encryptedDataKeys).toEqual(backing.producedForEncrypt[1]?.encryptedDataKeys);
    cmm.close();
  });

  it('returns every request from the cache after the first when refresh-ahead has time to run', async () => {
    // Prepare
    const { backing, cmm, results, encryptRequest } = setup({
      maxMessages: 10,
      refreshAhead: true,
      refreshAheadAt: 0.5,
    });

    // Act
    for (let index = 0; index < 100; index++) {
      await encryptRequest();
      await cmm.idle();
    }

    // Assess
    expect(results()[0]).toBe('miss');
    expect(
      results()
        .slice(1)
        .every((result) => result === 'hit' || result === 'refresh'),
    ).toBe(true);
    expect(count(results(), 'refresh')).toBe(10);
    expect(backing.encryptCalls).toHaveLength(11);
    cmm.close();
  });
});

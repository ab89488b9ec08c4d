import { AlgorithmSuiteIdentifier } from '@aws-crypto/client-node';
import { CoalescingCachingMaterialsManager } from '@records/data-key-cache';
import { EncryptionWorkerError, RecordDecryptor, RecordEncryptor } from '@records/envelope';
import { ThreadedRecordEncryptor } from '@records/envelope/threads';
import { createKmsFixture, inParallel, type KmsFixture } from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const { endpoints, regions, kmsMissing } = inject('emulators');
if (kmsMissing) console.warn('[envelope] threaded encryption suite skipped: moto_server is not installed');

const SIGNING = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
const NON_SIGNING = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
const MAX_MESSAGES = 25;
const bounds = {
  capacity: 10,
  maxAgeSeconds: 3_600,
  maxMessages: MAX_MESSAGES,
  maxBytes: 1024 * 1024 * 1024,
  refreshAhead: false,
  refreshAheadAt: 0.8,
};
const record = (index: number) => Buffer.from(JSON.stringify({ id: `r-${index}`, text: 'x'.repeat(index % 300) }));

describe.skipIf(kmsMissing)('Class: ThreadedRecordEncryptor (KMS)', () => {
  let kms: KmsFixture;

  beforeAll(async () => {
    kms = await createKmsFixture(endpoints.kms as string, regions);
  });

  afterAll(async () => {
    await kms?.close();
  });

  function consumer(algorithmSuite: AlgorithmSuiteIdentifier = SIGNING) {
    const materials = new CoalescingCachingMaterialsManager({
      backing: kms.consumerKeyring(kms.otherRegion),
      ...bounds,
    });
    return {
      decryptor: new RecordDecryptor({ materials, maxEncryptedDataKeys: 2, algorithmSuite }),
      close: () => materials.close(),
    };
  }

  for (const [name, suite] of [
    ['signing (the SDK default)', SIGNING],
    ['non-signing', NON_SIGNING],
  ] as const) {
    it(`writes ${name} messages the consumer path decrypts to the same records, with the KMS calls of one thread`, async () => {
      // Prepare
      const materials = new CoalescingCachingMaterialsManager({ backing: kms.producerKeyring(), ...bounds });
      const encryptor = new ThreadedRecordEncryptor({
        materials,
        maxEncryptedDataKeys: 2,
        algorithmSuite: suite,
        threads: 2,
      });
      const { decryptor, close } = consumer(suite);
      const records = 120;
      const before = kms.proxy.count({ region: kms.generatorRegion });

      // Act
      const ciphertexts = await inParallel(records, 16, (index) => encryptor.encrypt(record(index), 'records'));
      const generated = kms.proxy.count({ region: kms.generatorRegion }) - before;
      const decrypted = await inParallel(records, 16, (index) =>
        decryptor.decrypt(ciphertexts[index] as Uint8Array, 'records'),
      );
      await encryptor.close();
      materials.close();
      close();

      // Assess: one GenerateDataKey per MAX_MESSAGES records, as a single thread makes
      expect(decrypted).toHaveLength(records);
      expect(decrypted.every((result, index) => Buffer.from(result.plaintext).equals(record(index)))).toBe(true);
      expect(new Set(decrypted.map((result) => result.suite))).toEqual(new Set([AlgorithmSuiteIdentifier[suite]]));
      expect(generated).toBe(Math.ceil(records / MAX_MESSAGES));
    });
  }

  it('writes messages the single-thread encryptor could have written: same header shape and length', async () => {
    // Prepare
    const materials = new CoalescingCachingMaterialsManager({ backing: kms.producerKeyring(), ...bounds });
    const threaded = new ThreadedRecordEncryptor({
      materials,
      maxEncryptedDataKeys: 2,
      algorithmSuite: NON_SIGNING,
      threads: 1,
    });
    const inline = new RecordEncryptor({ materials, maxEncryptedDataKeys: 2, algorithmSuite: NON_SIGNING });

    // Act
    const fromThread = await threaded.encrypt(record(7), 'records');
    const fromMain = await inline.encrypt(record(7), 'records');
    await threaded.close();
    materials.close();

    // Assess: the same data key (one cache), so the same header but for the message id, and the same length
    expect(fromThread.byteLength).toBe(fromMain.byteLength);
    expect(Buffer.from(fromThread.subarray(0, 2))).toEqual(Buffer.from(fromMain.subarray(0, 2)));
  });

  it('fails the records a crashed worker held with ENCRYPTION_UNAVAILABLE, replaces it, and loses none silently', async () => {
    // Prepare
    const materials = new CoalescingCachingMaterialsManager({ backing: kms.producerKeyring(), ...bounds });
    const encryptor = new ThreadedRecordEncryptor({
      materials,
      maxEncryptedDataKeys: 2,
      algorithmSuite: SIGNING,
      threads: 2,
    });
    const { decryptor, close } = consumer();
    await encryptor.encrypt(record(0), 'records');

    // Act: a worker dies while records are in flight (once one has come back, both workers hold the next ones)
    const encrypts = Array.from({ length: 40 }, (_, index) => encryptor.encrypt(record(index), 'records'));
    const outcomes = Promise.allSettled(encrypts);
    await Promise.race(encrypts);
    await encryptor.workers()[0]?.terminate();
    const settled = await outcomes;
    const after = await inParallel(20, 4, (index) => encryptor.encrypt(record(index), 'records'));
    const threadsAfter = encryptor.workers().length;
    const readable = await inParallel(after.length, 4, (index) =>
      decryptor.decrypt(after[index] as Uint8Array, 'records'),
    );
    await encryptor.close();
    materials.close();
    close();

    // Assess: every record either encrypted or failed with the 503 code; the pool is whole again
    const failed = settled.filter((outcome) => outcome.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const outcome of failed) {
      expect(outcome.reason).toBeInstanceOf(EncryptionWorkerError);
      expect(outcome.reason).toMatchObject({ code: 'ENCRYPTION_UNAVAILABLE' });
    }
    for (const [index, outcome] of settled.entries()) {
      if (outcome.status === 'fulfilled') {
        await expect(decryptor.decrypt(outcome.value, 'records')).resolves.toMatchObject({ plaintext: record(index) });
      }
    }
    expect(threadsAfter).toBe(2);
    expect(readable).toHaveLength(20);
  });

  it('lets the records in hand finish on close, then stops every worker and refuses more', async () => {
    // Prepare
    const materials = new CoalescingCachingMaterialsManager({ backing: kms.producerKeyring(), ...bounds });
    const encryptor = new ThreadedRecordEncryptor({
      materials,
      maxEncryptedDataKeys: 2,
      algorithmSuite: SIGNING,
      threads: 2,
    });

    await encryptor.encrypt(record(0), 'records');
    const exits = encryptor.workers().map((worker) => new Promise((exited) => worker.once('exit', exited)));

    // Act
    const inHand = Promise.all(Array.from({ length: 10 }, (_, index) => encryptor.encrypt(record(index), 'records')));
    await new Promise((started) => setImmediate(started));
    const closed = encryptor.close();
    const results = await inHand;
    await closed;
    const late = encryptor.encrypt(record(1), 'records');

    // Assess
    expect(results).toHaveLength(10);
    expect(exits).toHaveLength(2);
    await Promise.all(exits);
    await expect(late).rejects.toBeInstanceOf(EncryptionWorkerError);
    materials.close();
  });
});

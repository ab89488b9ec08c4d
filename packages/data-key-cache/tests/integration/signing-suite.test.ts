import { AlgorithmSuiteIdentifier } from '@aws-crypto/client-node';
import {
  createKmsFixture,
  decrypt,
  encryptRecord,
  inParallel,
  type KmsFixture,
  record,
  usePerDataKey,
} from '@records/local-stack/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoalescingCachingMaterialsManager } from '../../src/index.js';
import { kmsMissing, motoEndpoint, regions } from '../support/kms-suite.js';

const SIGNING_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
const RECORDS = 250;
const MAX_MESSAGES = 100;
const cacheBounds = {
  capacity: 10,
  maxAgeSeconds: 3_600,
  maxMessages: MAX_MESSAGES,
  maxBytes: 1024 * 1024 * 1024,
  refreshAhead: false,
  refreshAheadAt: 0.8,
};

describe.skipIf(kmsMissing)('Class: CoalescingCachingMaterialsManager, default signing suite against KMS', () => {
  let kms: KmsFixture;

  beforeAll(async () => {
    kms = await createKmsFixture(motoEndpoint, regions);
  });

  afterAll(async () => {
    await kms?.close();
  });

  it('returns messages that decrypt with ceil(N / maxMessages) calls per region when the SDK picks the suite', async () => {
    // Prepare
    const producer = new CoalescingCachingMaterialsManager({ backing: kms.producerKeyring(), ...cacheBounds });
    const consumer = new CoalescingCachingMaterialsManager({
      backing: kms.consumerKeyring(kms.otherRegion),
      ...cacheBounds,
    });

    // Act
    const messages = await inParallel(RECORDS, 16, (index) => encryptRecord(producer, record(index), 'sdk-default'));
    const produced = kms.proxy.count();
    const decrypted = await inParallel(RECORDS, 16, (index) => decrypt(consumer, messages[index]!.ciphertext));
    producer.close();
    consumer.close();

    // Assess
    const minimum = Math.ceil(RECORDS / MAX_MESSAGES);
    expect(decrypted.every(({ plaintext }, index) => plaintext.equals(record(index)))).toBe(true);
    expect(decrypted.every(({ messageHeader }) => messageHeader.suiteId === SIGNING_SUITE)).toBe(true);
    expect(usePerDataKey(messages).size).toBe(minimum);
    expect(produced).toBe(2 * minimum);
    expect(kms.proxy.count({ operation: 'Decrypt', region: kms.otherRegion })).toBe(minimum);
    expect(kms.proxy.count()).toBe(3 * minimum);
  });
});

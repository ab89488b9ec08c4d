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

const RECORDS = 2_050;
const MAX_MESSAGES = 100;
const MINIMUM = Math.ceil(RECORDS / MAX_MESSAGES);
const cacheBounds = {
  capacity: 10,
  maxAgeSeconds: 3_600,
  maxMessages: MAX_MESSAGES,
  maxBytes: 1024 * 1024 * 1024,
  refreshAhead: false,
  refreshAheadAt: 0.8,
};
const encryptRecords = (cmm: CoalescingCachingMaterialsManager, concurrency: number) =>
  inParallel(RECORDS, concurrency, (index) => encryptRecord(cmm, record(index)));

describe.skipIf(kmsMissing)('Class: CoalescingCachingMaterialsManager, single flight against KMS', () => {
  let kms: KmsFixture;

  beforeAll(async () => {
    kms = await createKmsFixture(motoEndpoint, regions);
  });

  afterAll(async () => {
    await kms?.close();
  });

  it.each([1, 16, 256])(
    'makes exactly ceil(N / maxMessages) data key calls in each region when %i encrypts run at once from cold',
    async (concurrency) => {
      // Prepare
      kms.proxy.resetCounts();
      const cmm = new CoalescingCachingMaterialsManager({ backing: kms.producerKeyring(), ...cacheBounds });

      // Act
      const messages = await encryptRecords(cmm, concurrency);
      cmm.close();

      // Assess
      expect(kms.proxy.count({ operation: 'GenerateDataKey', region: kms.generatorRegion })).toBe(MINIMUM);
      expect(kms.proxy.count({ operation: 'Encrypt', region: kms.otherRegion })).toBe(MINIMUM);
      expect(kms.proxy.count()).toBe(2 * MINIMUM);
      const messagesPerKey = [...usePerDataKey(messages).values()].map((use) => use.messages);
      expect(messagesPerKey).toHaveLength(MINIMUM);
      expect(messagesPerKey.filter((count) => count === MAX_MESSAGES)).toHaveLength(MINIMUM - 1);
    },
  );

  describe('decrypt side', () => {
    let ciphertexts: Uint8Array[] = [];

    beforeAll(async () => {
      const producer = new CoalescingCachingMaterialsManager({ backing: kms.producerKeyring(), ...cacheBounds });
      ciphertexts = (await encryptRecords(producer, 16)).map((message) => message.ciphertext);
      producer.close();
    });

    it.each([1, 16, 256])(
      'makes one Decrypt call per distinct data key in each region when %i decrypts run at once from cold',
      async (concurrency) => {
        for (const region of [kms.generatorRegion, kms.otherRegion]) {
          // Prepare
          kms.proxy.resetCounts();
          const cmm = new CoalescingCachingMaterialsManager({ backing: kms.consumerKeyring(region), ...cacheBounds });

          // Act
          const plaintexts = await inParallel(RECORDS, concurrency, async (index) => {
            const { plaintext } = await decrypt(cmm, ciphertexts[index]!);
            return plaintext;
          });
          cmm.close();

          // Assess
          expect(plaintexts.every((plaintext, index) => plaintext.equals(record(index)))).toBe(true);
          expect(kms.proxy.count({ operation: 'Decrypt', region })).toBe(MINIMUM);
          expect(kms.proxy.count()).toBe(MINIMUM);
        }
      },
    );
  });
});

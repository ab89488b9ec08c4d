import { randomUUID } from 'node:crypto';
import { NodeDefaultCryptographicMaterialsManager } from '@aws-crypto/client-node';
import { AwsClients, type AwsRequestEvent } from '@records/aws-clients';
import {
  multiRegionKeyring,
  RecordDecryptor,
  RecordEncryptor,
  regionKeyring,
  resolveWrappingKeys,
} from '@records/envelope';
import { ensureKmsKey } from '@records/provisioning';
import { afterAll, describe, expect, inject, it } from 'vitest';

const { endpoints, regions, kmsMissing } = inject('emulators');
if (kmsMissing) console.warn('[envelope] KMS keyring suite skipped: moto_server is not installed');

describe.skipIf(kmsMissing)('Function: regionKeyring (KMS)', () => {
  const events: AwsRequestEvent[] = [];
  const clients = new AwsClients({
    endpoints: { kms: endpoints.kms! },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    observer: (event) => events.push(event),
  });
  const kms = (region: string) => clients.kms(region);
  afterAll(() => clients.destroy());

  it('decrypts in each region by calling only that region’s KMS', async () => {
    // Prepare
    const alias = `alias/envelope-${randomUUID()}`;
    await Promise.all(regions.map((region) => ensureKmsKey(kms(region), alias)));
    const keys = await resolveWrappingKeys({ settings: { kind: 'kms', alias }, regions, kms });
    const encryptor = new RecordEncryptor({
      materials: new NodeDefaultCryptographicMaterialsManager(multiRegionKeyring(keys, regions, kms)),
      maxEncryptedDataKeys: regions.length,
    });
    const ciphertext = await encryptor.encrypt(Buffer.from('{"id":"k"}'), 'records');

    for (const region of regions) {
      events.length = 0;
      const decryptor = new RecordDecryptor({
        materials: new NodeDefaultCryptographicMaterialsManager(regionKeyring(keys, region, kms)),
        maxEncryptedDataKeys: regions.length,
      });

      // Act
      const { plaintext } = await decryptor.decrypt(ciphertext, 'records');

      // Assess
      expect(Buffer.from(plaintext).toString()).toBe('{"id":"k"}');
      expect(events.map(({ operation, region: called }) => `${operation}@${called}`)).toEqual([`Decrypt@${region}`]);
    }
  });

  it('throws WRAPPING_KEY_NOT_FOUND when the alias does not exist in a region', async () => {
    await expect(
      resolveWrappingKeys({ settings: { kind: 'kms', alias: `alias/missing-${randomUUID()}` }, regions, kms }),
    ).rejects.toMatchObject({ code: 'WRAPPING_KEY_NOT_FOUND' });
  });
});

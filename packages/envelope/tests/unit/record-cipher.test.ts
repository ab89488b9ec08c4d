import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeDefaultCryptographicMaterialsManager } from '@aws-crypto/client-node';
import {
  multiRegionKeyring,
  RecordDecryptor,
  RecordEncryptor,
  type ResolvedWrappingKeys,
  regionKeyring,
  resolveWrappingKeys,
} from '@records/envelope';
import { describe, expect, it } from 'vitest';

const regions = ['us-east-1', 'eu-west-1', 'ap-south-1'];
const keys: ResolvedWrappingKeys = {
  kind: 'raw-aes',
  keys: Object.fromEntries(regions.map((region) => [region, new Uint8Array(randomBytes(32))])),
};
const noKms = () => {
  throw new Error('no KMS in this test');
};

function encryptor(maxEncryptedDataKeys = regions.length) {
  return new RecordEncryptor({
    materials: new NodeDefaultCryptographicMaterialsManager(multiRegionKeyring(keys, regions, noKms)),
    maxEncryptedDataKeys,
  });
}

function decryptorFor(region: string, wrapping: ResolvedWrappingKeys = keys, maxEncryptedDataKeys = regions.length) {
  return new RecordDecryptor({
    materials: new NodeDefaultCryptographicMaterialsManager(regionKeyring(wrapping, region, noKms)),
    maxEncryptedDataKeys,
  });
}

describe('Class: RecordDecryptor (local AES wrapping keys)', () => {
  it('returns the plaintext in every region, each with only its own key', async () => {
    // Prepare
    const plaintext = Buffer.from(JSON.stringify({ id: 'a', text: 'héllo' }));

    // Act
    const ciphertext = await encryptor().encrypt(plaintext, 'records');
    const decrypted = await Promise.all(regions.map((region) => decryptorFor(region).decrypt(ciphertext, 'records')));

    // Assess
    for (const result of decrypted) expect(Buffer.from(result).toString()).toBe(plaintext.toString());
  });

  it('throws CONTEXT_MISMATCH when the record was encrypted for another stream', async () => {
    // Prepare
    const ciphertext = await encryptor().encrypt(Buffer.from('{"id":"b"}'), 'other-stream');

    // Act
    const act = decryptorFor('eu-west-1').decrypt(ciphertext, 'records');

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'CONTEXT_MISMATCH' });
  });

  it('throws DECRYPT_FAILED when the region key is not among the wrapping keys', async () => {
    // Prepare
    const ciphertext = await encryptor().encrypt(Buffer.from('{"id":"c"}'), 'records');
    const stranger: ResolvedWrappingKeys = { kind: 'raw-aes', keys: { 'eu-west-1': new Uint8Array(randomBytes(32)) } };

    // Act
    const act = decryptorFor('eu-west-1', stranger).decrypt(ciphertext, 'records');

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });

  it('throws DECRYPT_FAILED for bytes that are not an encrypted message', async () => {
    await expect(decryptorFor('us-east-1').decrypt(Buffer.from('plain text'), 'records')).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
    });
  });

  it('refuses a message with more encrypted data keys than maxEncryptedDataKeys', async () => {
    // Prepare: three regions wrap the key, the reader accepts two
    const ciphertext = await encryptor().encrypt(Buffer.from('{"id":"d"}'), 'records');

    // Act
    const act = decryptorFor('us-east-1', keys, 2).decrypt(ciphertext, 'records');

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });
});

describe('Function: resolveWrappingKeys (raw-aes)', () => {
  it('reads one base64 key per region from the key folder', async () => {
    // Prepare
    const directory = await mkdtemp(join(tmpdir(), 'keys-'));
    const key = randomBytes(32);
    await writeFile(join(directory, 'us-east-1.key'), `${key.toString('base64')}\n`);

    // Act
    const resolved = await resolveWrappingKeys({
      settings: { kind: 'raw-aes', keyDirectory: directory },
      regions: ['us-east-1'],
      kms: noKms,
    });

    // Assess
    expect(resolved).toEqual({ kind: 'raw-aes', keys: { 'us-east-1': new Uint8Array(key) } });
  });

  it('throws WRAPPING_KEY_NOT_FOUND when a region has no key file, or a short one', async () => {
    // Prepare
    const directory = await mkdtemp(join(tmpdir(), 'keys-'));
    await writeFile(join(directory, 'eu-west-1.key'), randomBytes(16).toString('base64'));
    const settings = { kind: 'raw-aes', keyDirectory: directory } as const;

    // Act & Assess
    await expect(resolveWrappingKeys({ settings, regions: ['us-east-1'], kms: noKms })).rejects.toMatchObject({
      code: 'WRAPPING_KEY_NOT_FOUND',
    });
    await expect(resolveWrappingKeys({ settings, regions: ['eu-west-1'], kms: noKms })).rejects.toThrow('32 bytes');
  });
});

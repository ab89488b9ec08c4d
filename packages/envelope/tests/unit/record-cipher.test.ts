import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  NodeDefaultCryptographicMaterialsManager,
} from '@aws-crypto/client-node';
import {
  type DecryptCommitmentPolicy,
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

function decryptorFor(
  region: string,
  wrapping: ResolvedWrappingKeys = keys,
  maxEncryptedDataKeys = regions.length,
  commitmentPolicy?: DecryptCommitmentPolicy,
) {
  return new RecordDecryptor({
    materials: new NodeDefaultCryptographicMaterialsManager(regionKeyring(wrapping, region, noKms)),
    maxEncryptedDataKeys,
    ...(commitmentPolicy === undefined ? {} : { commitmentPolicy }),
  });
}

/** Encrypts as another producer might: any suite, policy and context. */
async function encryptAs(
  suiteId: AlgorithmSuiteIdentifier,
  encryptionContext: Record<string, string>,
  commitmentPolicy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
): Promise<Uint8Array> {
  const { encrypt } = buildClient(commitmentPolicy);
  const materials = new NodeDefaultCryptographicMaterialsManager(multiRegionKeyring(keys, regions, noKms));
  const { result } = await encrypt(materials, Buffer.from('{"id":"x"}'), { suiteId, encryptionContext });
  return result;
}

describe('Class: RecordDecryptor (local AES wrapping keys)', () => {
  it('returns the plaintext in every region, each with only its own key', async () => {
    // Prepare
    const plaintext = Buffer.from(JSON.stringify({ id: 'a', text: 'héllo' }));

    // Act
    const ciphertext = await encryptor().encrypt(plaintext, 'records');
    const decrypted = await Promise.all(regions.map((region) => decryptorFor(region).decrypt(ciphertext, 'records')));

    // Assess
    for (const result of decrypted) {
      expect(Buffer.from(result.plaintext).toString()).toBe(plaintext.toString());
      expect(result.suite).toBe('ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384');
    }
  });

  it('throws DECRYPT_FAILED for a legacy message without key commitment under the default policy', async () => {
    // Prepare: what the Encryption SDK 1.x writes by default
    const legacy = await encryptAs(
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
      { stream: 'records' },
      CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
    );

    // Act
    const act = decryptorFor('us-east-1').decrypt(legacy, 'records');

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });

  it('returns a legacy message and names its suite under require-encrypt-allow-decrypt', async () => {
    // Prepare
    const legacy = await encryptAs(
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
      { stream: 'records' },
      CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
    );

    // Act
    const result = await decryptorFor('us-east-1', keys, regions.length, 'require-encrypt-allow-decrypt').decrypt(
      legacy,
      'records',
    );

    // Assess
    expect(Buffer.from(result.plaintext).toString()).toBe('{"id":"x"}');
    expect(result.suite).toBe('ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384');
  });

  it.each([
    [
      'another committing suite',
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
      'require-encrypt-require-decrypt',
      CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
    ],
    [
      "a legacy suite other than the example's",
      AlgorithmSuiteIdentifier.ALG_AES128_GCM_IV12_TAG16,
      'require-encrypt-allow-decrypt',
      CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
    ],
  ] as const)('throws DECRYPT_FAILED for %s than the one configured', async (_name, suiteId, policy, written) => {
    // Prepare
    const ciphertext = await encryptAs(suiteId, { stream: 'records' }, written);

    // Act
    const act = decryptorFor('us-east-1', keys, regions.length, policy).decrypt(ciphertext, 'records');

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'DECRYPT_FAILED', message: expect.stringContaining('suite') });
  });

  it('throws CONTEXT_MISMATCH when the context carries keys besides the stream', async () => {
    // Prepare
    const ciphertext = await encryptAs(
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
      { stream: 'records', tenant: 'x'.repeat(60_000) },
    );

    // Act
    const act = decryptorFor('us-east-1').decrypt(ciphertext, 'records');

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'CONTEXT_MISMATCH' });
    await expect(act).rejects.toThrow('1 unexpected key(s)');
    const error = await act.then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.message.length).toBeLessThan(1000);
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
    await writeFile(join(directory, 'us-east-1.key'), `${key.toString('base64')}\n`, { mode: 0o600 });

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
    await writeFile(join(directory, 'eu-west-1.key'), randomBytes(16).toString('base64'), { mode: 0o600 });
    const settings = { kind: 'raw-aes', keyDirectory: directory } as const;

    // Act & Assess
    await expect(resolveWrappingKeys({ settings, regions: ['us-east-1'], kms: noKms })).rejects.toMatchObject({
      code: 'WRAPPING_KEY_NOT_FOUND',
    });
    await expect(resolveWrappingKeys({ settings, regions: ['eu-west-1'], kms: noKms })).rejects.toThrow('32 bytes');
  });

  it('throws WRAPPING_KEY_UNSAFE for a key file others may read', async () => {
    // Prepare
    const directory = await mkdtemp(join(tmpdir(), 'keys-'));
    await writeFile(join(directory, 'us-east-1.key'), randomBytes(32).toString('base64'), { mode: 0o644 });

    // Act
    const act = resolveWrappingKeys({
      settings: { kind: 'raw-aes', keyDirectory: directory },
      regions: ['us-east-1'],
      kms: noKms,
    });

    // Assess
    await expect(act).rejects.toMatchObject({ code: 'WRAPPING_KEY_UNSAFE' });
  });
});

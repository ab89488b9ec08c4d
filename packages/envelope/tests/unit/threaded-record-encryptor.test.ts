import { randomBytes } from 'node:crypto';
import {
  AlgorithmSuiteIdentifier,
  NodeDefaultCryptographicMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import { RecordDecryptor } from '@records/envelope';
import { ThreadedRecordEncryptor } from '@records/envelope/threads';
import { describe, expect, it } from 'vitest';

describe('Class: ThreadedRecordEncryptor', () => {
  it('writes messages a raw AES keyring decrypts, its binary provider info carried to the worker intact', async () => {
    // Prepare: a raw keyring's encrypted data keys carry binary provider info (rawInfo)
    const keyring = new RawAesKeyringNode({
      keyName: 'records-key',
      keyNamespace: 'records',
      unencryptedMasterKey: randomBytes(32),
      wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    });
    const materials = new NodeDefaultCryptographicMaterialsManager(keyring);
    const suite = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
    const encryptor = new ThreadedRecordEncryptor({
      materials,
      maxEncryptedDataKeys: 1,
      algorithmSuite: suite,
      threads: 1,
    });
    const decryptor = new RecordDecryptor({ materials, maxEncryptedDataKeys: 1, algorithmSuite: suite });
    const record = Buffer.from('{"id":"r-1","a":1}');

    // Act
    const ciphertext = await encryptor.encrypt(record, 'records');
    await encryptor.close();
    const { plaintext } = await decryptor.decrypt(ciphertext, 'records');

    // Assess
    expect(Buffer.from(plaintext).equals(record)).toBe(true);
  });

  it('refuses a thread count below one', () => {
    // Prepare
    const materials = new NodeDefaultCryptographicMaterialsManager(
      new RawAesKeyringNode({
        keyName: 'k',
        keyNamespace: 'n',
        unencryptedMasterKey: randomBytes(32),
        wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
      }),
    );

    // Act
    const build = () => new ThreadedRecordEncryptor({ materials, maxEncryptedDataKeys: 1, threads: 0 });

    // Assess
    expect(build).toThrow(RangeError);
  });
});

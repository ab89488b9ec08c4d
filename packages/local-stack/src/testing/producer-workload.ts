import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  type NodeMaterialsManager,
} from '@aws-crypto/client-node';

export const NON_SIGNING_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

const client = buildClient({
  commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
  maxEncryptedDataKeys: 2,
});

type Client = ReturnType<typeof buildClient>;

/** The SDK's encrypt and decrypt, as a producer and a consumer of two regions use them. */
export const encrypt: Client['encrypt'] = client.encrypt;
export const decrypt: Client['decrypt'] = client.decrypt;

/** A record of `size` bytes (at least 20) whose content says which one it is. */
export function record(index: number, size = 20 + (index % 50)): Buffer {
  return Buffer.from(`${String(index).padStart(10, '0')}:`.padEnd(size, 'x'));
}

export interface EncryptedRecord {
  readonly ciphertext: Uint8Array;
  readonly plaintextLength: number;
}

/** Encrypts one record for the `records` stream as the producer does; `sdk-default` lets the SDK pick the suite. */
export async function encryptRecord(
  cmm: NodeMaterialsManager,
  plaintext: Buffer,
  suite: AlgorithmSuiteIdentifier | 'sdk-default' = NON_SIGNING_SUITE,
): Promise<EncryptedRecord> {
  const { result } = await encrypt(cmm, plaintext, {
    encryptionContext: { stream: 'records' },
    plaintextLength: plaintext.length,
    ...(suite === 'sdk-default' ? {} : { suiteId: suite }),
  });
  return { ciphertext: result, plaintextLength: plaintext.length };
}
